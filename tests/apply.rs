//! Server-side apply and managedFields against the real warren binary: kubectl 1.32
//! (`apply --server-side`, conflicts and `--force-conflicts`, pruning of fields no longer
//! applied, the migration from client-side apply, `--show-managed-fields` after create,
//! client-side apply and scale) and kube-rs `Patch::Apply`. Expected strings are what
//! kube-apiserver 1.33 and kubectl print.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use serde_json::{Value, json};
use warren_e2e::{Warren, kubectl_bin};

fn deployment(name: &str, replicas: i64, labels: Value, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [
                    {"name": "c", "image": image, "ports": [{"containerPort": 80}]},
                ]},
            },
        },
    })
}

/// warren without its controllers, so the managers seen are the test's alone.
fn bare() -> Warren {
    Warren::start_with(&["--disable-controllers"])
}

/// `kubectl apply --server-side -f -` (plus `extra` flags); returns stdout.
fn ssa(w: &Warren, extra: &[&str], manifest: &Value) -> String {
    let mut args = vec!["apply", "--server-side", "-f", "-"];
    args.extend_from_slice(extra);
    w.kubectl_apply_ok(&args, &manifest.to_string())
}

/// The same, expected to fail; returns stderr.
fn ssa_err(w: &Warren, extra: &[&str], manifest: &Value) -> String {
    let mut args = vec!["apply", "--server-side", "-f", "-"];
    args.extend_from_slice(extra);
    let out = w.kubectl_stdin(&args, Some(&manifest.to_string()));
    assert!(
        !out.status.success(),
        "kubectl {args:?} unexpectedly succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `metadata.managedFields` as `kubectl get --show-managed-fields -o json` shows it.
fn managed(w: &Warren, what: &[&str]) -> Vec<Value> {
    let mut args = what.to_vec();
    args.push("--show-managed-fields");
    let obj = w.get_json(&args);
    obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// (manager, operation, subresource) of each entry, in order.
fn owners(entries: &[Value]) -> Vec<(String, String, String)> {
    entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (s("manager"), s("operation"), s("subresource"))
        })
        .collect()
}

fn owner(m: &str, op: &str, sub: &str) -> (String, String, String) {
    (m.to_string(), op.to_string(), sub.to_string())
}

fn fields_of<'a>(entries: &'a [Value], manager: &str) -> &'a Value {
    &entries
        .iter()
        .find(|e| e["manager"] == manager)
        .unwrap_or_else(|| panic!("no managedFields entry for {manager}: {entries:?}"))["fieldsV1"]
}

/// The manager kube derives from kubectl's User-Agent: its program name.
fn kubectl_agent() -> String {
    let bin = kubectl_bin();
    let name = bin
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kubectl".into());
    name.trim_end_matches(".exe").to_string()
}

const CONFLICT_HELP: &str =
    "Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts
";

#[test]
fn apply_creates_updates_conflicts_forces_and_prunes() {
    let w = bare();
    let first = deployment("web", 2, json!({"app": "web", "tier": "fe"}), "nginx:1.25");
    assert_eq!(
        ssa(&w, &[], &first),
        "deployment.apps/web serverside-applied\n"
    );
    let created = w.get_json(&["deploy", "web"]);
    assert_eq!(created["spec"]["replicas"], 2);
    assert_eq!(created["metadata"]["generation"], 1);
    // defaults are the server's, not the applier's
    assert_eq!(created["spec"]["strategy"]["type"], "RollingUpdate");
    let entries = managed(&w, &["deploy", "web"]);
    assert_eq!(owners(&entries), [owner("kubectl", "Apply", "")]);
    assert_eq!(
        fields_of(&entries, "kubectl"),
        &json!({
            "f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}}},
                    }}},
                },
            },
        })
    );

    // applying again updates in place
    let second = deployment("web", 2, json!({"app": "web", "tier": "fe"}), "nginx:1.27");
    assert_eq!(
        ssa(&w, &[], &second),
        "deployment.apps/web serverside-applied\n"
    );
    let updated = w.get_json(&["deploy", "web"]);
    assert_eq!(
        updated["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert_eq!(updated["metadata"]["generation"], 2);
    // the same configuration again is a no-op
    ssa(&w, &[], &second);
    let same = w.get_json(&["deploy", "web"]);
    assert_eq!(
        same["metadata"]["resourceVersion"],
        updated["metadata"]["resourceVersion"]
    );

    // another manager changing an owned field conflicts
    let other = deployment("web", 3, json!({"app": "web"}), "nginx:1.27");
    let err = ssa_err(&w, &["--field-manager=other"], &other);
    assert_eq!(
        err,
        format!(
            "error: Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas\n{CONFLICT_HELP}"
        )
    );
    assert_eq!(w.get_json(&["deploy", "web"])["spec"]["replicas"], 2);
    // ... server-side dry run says the same
    let err = ssa_err(&w, &["--field-manager=other", "--dry-run=server"], &other);
    assert!(
        err.starts_with("error: Apply failed with 1 conflict"),
        "{err}"
    );

    // --force-conflicts takes the field over
    assert_eq!(
        ssa(&w, &["--field-manager=other", "--force-conflicts"], &other),
        "deployment.apps/web serverside-applied\n"
    );
    assert_eq!(w.get_json(&["deploy", "web"])["spec"]["replicas"], 3);
    let entries = managed(&w, &["deploy", "web"]);
    assert_eq!(
        owners(&entries),
        [owner("kubectl", "Apply", ""), owner("other", "Apply", "")]
    );
    assert!(
        fields_of(&entries, "kubectl")["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    assert_eq!(
        fields_of(&entries, "other")["f:spec"]["f:replicas"],
        json!({})
    );
    // and now kubectl conflicts with other
    let err = ssa_err(&w, &[], &second);
    assert!(
        err.starts_with(
            "error: Apply failed with 1 conflict: conflict with \"other\": .spec.replicas\n"
        ),
        "{err}"
    );

    // a field kubectl applied before but no longer does is removed: tier goes, app stays
    // (other owns it too), replicas stays (other owns it)
    let mut without_tier = deployment("web", 3, json!({"app": "web"}), "nginx:1.27");
    without_tier["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("replicas");
    ssa(&w, &[], &without_tier);
    let pruned = w.get_json(&["deploy", "web"]);
    assert_eq!(pruned["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(pruned["spec"]["replicas"], 3);
    // a field set by a plain update survives the applier dropping it
    w.kubectl_ok(&["label", "deploy", "web", "team=blue"]);
    ssa(&w, &[], &without_tier);
    assert_eq!(
        w.get_json(&["deploy", "web"])["metadata"]["labels"],
        json!({"app": "web", "team": "blue"})
    );
}

#[test]
fn apply_validation_and_dry_run() {
    let w = bare();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
        "data": {"a": "1"}});
    assert_eq!(
        ssa(&w, &["--dry-run=server"], &cm),
        "configmap/cfg serverside-applied (server dry run)\n"
    );
    let out = w.kubectl(&["get", "cm", "cfg"]);
    assert!(!out.status.success(), "dry run must not create");
    // unknown fields are refused with kubectl's default strict validation
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
        "data": {"a": "1"}, "bogus": true});
    let err = ssa_err(&w, &[], &bad);
    assert!(err.contains("unknown field \"bogus\""), "{err}");
    ssa(&w, &[], &cm);
    assert_eq!(w.get_json(&["cm", "cfg"])["data"], json!({"a": "1"}));
}

#[test]
fn managed_fields_after_create_client_side_apply_and_scale() {
    let w = bare();
    // kubectl create: an Update entry with what kube records (defaults included)
    w.kubectl_ok(&["create", "deployment", "nginx", "--image=nginx"]);
    let entries = managed(&w, &["deploy", "nginx"]);
    assert_eq!(owners(&entries), [owner("kubectl-create", "Update", "")]);
    assert_eq!(entries[0]["apiVersion"], "apps/v1");
    assert_eq!(entries[0]["fieldsType"], "FieldsV1");
    assert!(
        entries[0]["time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(
        serde_json::to_string(&entries[0]["fieldsV1"]).expect("json"),
        r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:progressDeadlineSeconds":{},"f:replicas":{},"f:revisionHistoryLimit":{},"f:selector":{},"f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}}}"#
    );
    // plain `-o yaml` hides them, --show-managed-fields shows them
    let plain = w.kubectl_ok(&["get", "deploy", "nginx", "-o", "yaml"]);
    assert!(!plain.contains("managedFields"), "{plain}");
    let shown = w.kubectl_ok(&[
        "get",
        "deploy",
        "nginx",
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(
        shown.contains("    manager: kubectl-create\n    operation: Update\n"),
        "{shown}"
    );

    // client-side apply
    let web = deployment("web", 2, json!({"app": "web"}), "nginx:1.25");
    w.kubectl_apply_ok(&["apply", "-f", "-"], &web.to_string());
    let entries = managed(&w, &["deploy", "web"]);
    assert_eq!(
        owners(&entries),
        [owner("kubectl-client-side-apply", "Update", "")]
    );
    let csa = fields_of(&entries, "kubectl-client-side-apply");
    assert_eq!(
        csa["f:metadata"]["f:annotations"],
        json!({".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}})
    );
    assert_eq!(csa["f:spec"]["f:replicas"], json!({}));
    // a client-side apply that changes a field keeps one entry for the manager
    let web3 = deployment("web", 3, json!({"app": "web"}), "nginx:1.25");
    w.kubectl_apply_ok(&["apply", "-f", "-"], &web3.to_string());
    assert_eq!(
        owners(&managed(&w, &["deploy", "web"])),
        [owner("kubectl-client-side-apply", "Update", "")]
    );

    // scale: kubectl names no manager, kube takes the User-Agent's program; the scale
    // subresource now owns replicas
    assert_eq!(
        w.kubectl_ok(&["scale", "deploy", "web", "--replicas=5"]),
        "deployment.apps/web scaled\n"
    );
    let entries = managed(&w, &["deploy", "web"]);
    let agent = kubectl_agent();
    assert_eq!(
        owners(&entries),
        // kube carries scale managers over without a time, so they sort first
        [
            owner(&agent, "Update", "scale"),
            owner("kubectl-client-side-apply", "Update", ""),
        ]
    );
    let scale_entry = entries
        .iter()
        .find(|e| e["subresource"] == "scale")
        .expect("scale entry");
    assert_eq!(
        scale_entry["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert_eq!(scale_entry["apiVersion"], "apps/v1");
    assert!(
        fields_of(&entries, "kubectl-client-side-apply")["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    // so applying other replicas now conflicts with the scale manager
    let err = ssa_err(&w, &["--field-manager=ci"], &web3);
    assert!(
        err.starts_with(&format!(
            "error: Apply failed with 1 conflict: conflict with \"{agent}\" with subresource \"scale\" using apps/v1: .spec.replicas\n"
        )),
        "{err}"
    );
}

#[test]
fn server_side_apply_after_client_side_apply() {
    let w = bare();
    let v1 = deployment("web", 2, json!({"app": "web", "tier": "fe"}), "nginx:1.25");
    w.kubectl_apply_ok(&["apply", "-f", "-"], &v1.to_string());
    // kubectl may take over what its client-side apply set: no conflict on replicas
    let v2 = deployment("web", 4, json!({"app": "web", "tier": "fe"}), "nginx:1.25");
    assert_eq!(
        ssa(&w, &[], &v2),
        "deployment.apps/web serverside-applied\n"
    );
    let obj = w.get_json(&["deploy", "web", "--show-managed-fields"]);
    assert_eq!(obj["spec"]["replicas"], 4);
    assert_eq!(obj["metadata"]["generation"], 2);
    let entries = obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // kubectl migrated the client-side apply entry into its own and kept last-applied owned
    assert_eq!(
        owners(&entries),
        [
            owner("kubectl-last-applied", "Apply", ""),
            owner("kubectl", "Apply", ""),
        ]
    );
    assert_eq!(
        fields_of(&entries, "kubectl-last-applied"),
        &json!({"f:metadata": {"f:annotations": {
            "f:kubectl.kubernetes.io/last-applied-configuration": {}}}})
    );
    // the annotation follows what kubectl applies
    let last: Value = serde_json::from_str(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .expect("annotation"),
    )
    .expect("json");
    assert_eq!(last["spec"]["replicas"], 4);
    // dropping the label now removes it: kubectl owns what client-side apply owned
    let v3 = deployment("web", 4, json!({"app": "web"}), "nginx:1.25");
    ssa(&w, &[], &v3);
    assert_eq!(
        w.get_json(&["deploy", "web"])["metadata"]["labels"],
        json!({"app": "web"})
    );
}

async fn client(w: &Warren) -> Client {
    let kc = Kubeconfig::read_from(&w.kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kube config from warren kubeconfig");
    Client::try_from(config).expect("kube client")
}

fn configmap(data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some("cfg".into()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..Default::default()
    }
}

fn managers(cm: &ConfigMap) -> Vec<(String, String)> {
    cm.metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|e| {
            (
                e.manager.clone().unwrap_or_default(),
                e.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn kube_rs_patch_apply_round_trip() {
    let w = bare();
    let client = client(&w).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    // kube-rs sends apiVersion/kind from the type; Patch::Apply creates the object
    let mut applied = configmap(&[("a", "1"), ("b", "2")]);
    applied.metadata.labels = Some([("app".to_string(), "cfg".to_string())].into());
    let pp = PatchParams::apply("mgr").force();
    let created = api
        .patch("cfg", &pp, &Patch::Apply(&applied))
        .await
        .expect("apply creates");
    assert_eq!(
        created
            .data
            .as_ref()
            .and_then(|d| d.get("b"))
            .map(String::as_str),
        Some("2")
    );
    assert_eq!(
        managers(&created),
        [("mgr".to_string(), "Apply".to_string())]
    );
    let fields = created
        .metadata
        .managed_fields
        .as_ref()
        .expect("managedFields")[0]
        .fields_v1
        .as_ref()
        .expect("fieldsV1")
        .0
        .clone();
    assert_eq!(
        fields,
        json!({"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}})
    );

    // a second apply without b removes it
    let updated = api
        .patch("cfg", &pp, &Patch::Apply(&configmap(&[("a", "3")])))
        .await
        .expect("apply updates");
    let data = updated.data.clone().unwrap_or_default();
    assert_eq!(data.get("a").map(String::as_str), Some("3"));
    assert!(!data.contains_key("b"), "{data:?}");
    assert!(updated.metadata.labels.unwrap_or_default().is_empty());

    // another manager without force conflicts; with force it takes over
    let theirs = configmap(&[("a", "4")]);
    let err = api
        .patch("cfg", &PatchParams::apply("other"), &Patch::Apply(&theirs))
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"), "{s:?}");
            assert_eq!(
                s.message,
                "Apply failed with 1 conflict: conflict with \"mgr\": .data.a"
            );
        }
        other => panic!("expected a 409, got {other:?}"),
    }
    let forced = api
        .patch(
            "cfg",
            &PatchParams::apply("other").force(),
            &Patch::Apply(&theirs),
        )
        .await
        .expect("forced apply");
    assert_eq!(
        forced
            .data
            .clone()
            .unwrap_or_default()
            .get("a")
            .map(String::as_str),
        Some("4")
    );
    // mgr no longer owns anything and is gone
    assert_eq!(
        managers(&forced),
        [("other".to_string(), "Apply".to_string())]
    );

    // an update records an Update entry for its field manager
    let mut edited = api.get("cfg").await.expect("get");
    edited
        .data
        .get_or_insert_with(Default::default)
        .insert("z".into(), "9".into());
    let replaced = api
        .replace(
            "cfg",
            &PostParams {
                field_manager: Some("editor".into()),
                ..Default::default()
            },
            &edited,
        )
        .await
        .expect("replace");
    assert_eq!(
        managers(&replaced),
        [
            ("other".to_string(), "Apply".to_string()),
            ("editor".to_string(), "Update".to_string()),
        ]
    );

    // the apply needs a field manager: kube answers 422 for the PatchOptions
    let err = api
        .patch("cfg", &PatchParams::default(), &Patch::Apply(&theirs))
        .await
        .expect_err("no field manager");
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"), "{s:?}");
            assert_eq!(
                s.message,
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
            );
        }
        other => panic!("expected a 422, got {other:?}"),
    }
}

#[tokio::test]
async fn kube_rs_apply_to_scale() {
    use k8s_openapi::api::apps::v1::Deployment;
    let w = bare();
    let client = client(&w).await;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    let dep: Deployment =
        serde_json::from_value(deployment("web", 1, json!({"app": "web"}), "nginx:1.25"))
            .expect("deployment");
    api.patch("web", &PatchParams::apply("owner"), &Patch::Apply(&dep))
        .await
        .expect("apply deployment");
    let scale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "web"}, "spec": {"replicas": 4}});
    // the deployment's applier owns replicas: a conflict as the Scale object sees it
    let err = api
        .patch_scale("web", &PatchParams::apply("hpa"), &Patch::Apply(&scale))
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409, "{s:?}");
            assert_eq!(
                s.message,
                "Apply failed with 1 conflict: conflict with \"owner\": .spec.replicas"
            );
        }
        other => panic!("expected a 409, got {other:?}"),
    }
    let scaled = api
        .patch_scale(
            "web",
            &PatchParams::apply("hpa").force(),
            &Patch::Apply(&scale),
        )
        .await
        .expect("forced scale apply");
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(4));
    let got = api.get("web").await.expect("get");
    assert_eq!(got.spec.as_ref().and_then(|s| s.replicas), Some(4));
    let entries: Vec<(String, String, String)> = got
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|e| {
            (
                e.manager.clone().unwrap_or_default(),
                e.operation.clone().unwrap_or_default(),
                e.subresource.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [owner("hpa", "Apply", "scale"), owner("owner", "Apply", "")]
    );
}
