//! Unit tests of the apply engine: fieldsV1 of kube's own examples, ownership moves, conflicts,
//! pruning and list merges.

use serde_json::{Value, json};

use super::*;

const NOW: &str = "2025-05-01T10:00:00Z";
const LATER: &str = "2025-05-01T10:05:00Z";

fn deploy_ty() -> Ty<'static> {
    Ty::builtin("io.k8s.api.apps.v1.Deployment")
}

fn req<'a>(ty: Ty<'a>, manager: &'a str, now: &'a str) -> Request<'a> {
    Request {
        ty,
        api_version: "apps/v1",
        kind: "Deployment",
        subresource: "",
        manager,
        now,
        reset: Reset::Status,
    }
}

/// A Deployment as kube-apiserver has it after `kubectl create deployment nginx --image=nginx`
/// (defaults applied).
fn created_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "nginx", "namespace": "default", "uid": "u-1", "generation": 1,
            "creationTimestamp": "2025-05-01T10:00:00Z", "labels": {"app": "nginx"}
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "nginx"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "nginx"}},
                "spec": {
                    "containers": [{
                        "name": "nginx", "image": "nginx", "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File", "imagePullPolicy": "Always"
                    }],
                    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst", "securityContext": {},
                    "schedulerName": "default-scheduler"
                }
            }
        },
        "status": {}
    })
}

fn entries(obj: &Value) -> Vec<Value> {
    obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn entry<'a>(obj: &'a Value, manager: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["manager"] == manager))
        .unwrap_or_else(|| panic!("no entry for {manager}: {obj}"))
}

fn fields(obj: &Value, manager: &str) -> Value {
    entry(obj, manager)["fieldsV1"].clone()
}

fn apply_ok(r: &Request<'_>, live: Option<&Value>, config: &Value, force: bool) -> Value {
    apply(r, live, config, force)
        .unwrap_or_else(|e| panic!("apply: {e:?}"))
        .object
}

#[test]
fn create_records_kubes_fields_v1_for_a_deployment() {
    let ty = deploy_ty();
    let mut obj = created_deployment();
    update_managed_fields(&req(ty, "kubectl-create", NOW), None, &mut obj);
    let e = entry(&obj, "kubectl-create");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["apiVersion"], "apps/v1");
    assert_eq!(e["time"], NOW);
    assert_eq!(e["fieldsType"], "FieldsV1");
    assert!(e.get("subresource").is_none());
    // what kube-apiserver 1.33 records for `kubectl create deployment nginx --image=nginx`
    let want = r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:progressDeadlineSeconds":{},"f:replicas":{},"f:revisionHistoryLimit":{},"f:selector":{},"f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}}}"#;
    assert_eq!(serde_json::to_string(&e["fieldsV1"]).expect("json"), want);
}

#[test]
fn fields_v1_round_trips_and_keeps_dot_for_items() {
    let v: Value = serde_json::from_str(
        r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:ports":{".":{},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}},"f:finalizers":{"v:\"a\"":{}}}}"#,
    )
    .expect("json");
    let set = FieldSet::from_fields_v1(&v).expect("decode");
    assert_eq!(set.to_fields_v1(), v);
    assert!(set.has(&[
        PathElement::field("spec"),
        PathElement::field("finalizers"),
        PathElement::Value(json!("a"))
    ]));
    assert!(set.has(&[PathElement::field("metadata"), PathElement::field("labels")]));
    assert!(!set.has(&[PathElement::field("metadata")]));
    // unknown element kinds are skipped, malformed ones rejected
    let odd = FieldSet::from_fields_v1(&json!({"x:1": {}, "f:a": {}})).expect("decode");
    assert_eq!(odd.to_fields_v1(), json!({"f:a": {}}));
    assert!(FieldSet::from_fields_v1(&json!({"k:{nope": {}})).is_err());
}

#[test]
fn paths_print_and_order_like_structured_merge_diff() {
    let key = PathElement::Key(vec![
        ("containerPort".into(), json!(80)),
        ("protocol".into(), json!("TCP")),
    ]);
    let p = vec![
        PathElement::field("spec"),
        PathElement::field("ports"),
        key.clone(),
        PathElement::Value(json!("x")),
        PathElement::Index(2),
    ];
    assert_eq!(
        path_string(&p),
        r#".spec.ports[containerPort=80,protocol="TCP"][="x"][2]"#
    );
    assert_eq!(
        key.serialize(),
        r#"k:{"containerPort":80,"protocol":"TCP"}"#
    );
    // fields < keys < values < indexes; numbers compare numerically
    assert!(PathElement::field("z") < key);
    assert!(key < PathElement::Value(json!(1)));
    assert!(PathElement::Value(json!(9)) < PathElement::Value(json!(10)));
    assert!(PathElement::Value(json!(10)) < PathElement::Value(json!("a")));
    assert_eq!(
        PathElement::Value(json!("a<b")).serialize(),
        r#"v:"a\u003cb""#
    );
}

#[test]
fn apply_create_owns_exactly_the_configuration() {
    let ty = deploy_ty();
    let config = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                    "ports": [{"containerPort": 80}]}]}
            }
        }
    });
    let out = apply(&req(ty, "mgr", NOW), None, &config, false).expect("apply");
    assert!(out.changed);
    let obj = out.object;
    assert_eq!(entries(&obj).len(), 1);
    let e = entry(&obj, "mgr");
    assert_eq!(e["operation"], "Apply");
    assert_eq!(e["time"], NOW);
    let want = r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#;
    assert_eq!(serde_json::to_string(&e["fieldsV1"]).expect("json"), want);
    // the merged object is the configuration over Go's empty Deployment
    assert_eq!(obj["spec"]["replicas"], 2);
    assert_eq!(obj["spec"]["strategy"], json!({}));
    assert_eq!(obj["status"], json!({}));
    assert!(obj["metadata"].get("creationTimestamp").is_none());
}

fn cm_ty() -> Ty<'static> {
    Ty::builtin("io.k8s.api.core.v1.ConfigMap")
}

fn cm_req<'a>(manager: &'a str, now: &'a str) -> Request<'a> {
    Request {
        ty: cm_ty(),
        api_version: "v1",
        kind: "ConfigMap",
        subresource: "",
        manager,
        now,
        reset: Reset::None,
    }
}

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data})
}

#[test]
fn conflicts_between_appliers_and_force() {
    let live = apply_ok(
        &cm_req("a", NOW),
        None,
        &cm(json!({"k": "1", "x": "1"})),
        false,
    );
    let err = apply(
        &cm_req("b", LATER),
        Some(&live),
        &cm(json!({"k": "2"})),
        false,
    )
    .expect_err("conflict");
    let api = err.to_api_error();
    assert_eq!(api.code(), 409);
    assert_eq!(
        api.message,
        r#"Apply failed with 1 conflict: conflict with "a": .data.k"#
    );
    assert_eq!(
        api.to_status()["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"a\"", "field": ".data.k"}])
    );
    // the same value is no conflict: both own it
    let shared = apply_ok(
        &cm_req("b", LATER),
        Some(&live),
        &cm(json!({"k": "1"})),
        false,
    );
    assert_eq!(
        fields(&shared, "a"),
        json!({"f:data": {"f:k": {}, "f:x": {}}})
    );
    assert_eq!(fields(&shared, "b"), json!({"f:data": {"f:k": {}}}));
    assert!(
        entry(&shared, "b").get("time").is_none(),
        "no change, no time"
    );
    // force takes it over
    let forced = apply_ok(
        &cm_req("b", LATER),
        Some(&live),
        &cm(json!({"k": "2"})),
        true,
    );
    assert_eq!(forced["data"]["k"], "2");
    assert_eq!(fields(&forced, "a"), json!({"f:data": {"f:x": {}}}));
    assert_eq!(fields(&forced, "b"), json!({"f:data": {"f:k": {}}}));
    assert_eq!(entry(&forced, "b")["time"], LATER);
}

#[test]
fn conflict_with_an_updater_and_several_conflicts() {
    let mut live = cm(json!({"k": "1", "j": "1"}));
    update_managed_fields(&cm_req("kubectl-client-side-apply", NOW), None, &mut live);
    let err = apply(
        &cm_req("other", LATER),
        Some(&live),
        &cm(json!({"k": "2"})),
        false,
    )
    .expect_err("conflict");
    assert_eq!(
        err.to_api_error().message,
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.k"#
    );
    let live = apply_ok(
        &cm_req("x", LATER),
        Some(&live),
        &cm(json!({"z": "1"})),
        false,
    );
    let err = apply(
        &cm_req("other", LATER),
        Some(&live),
        &cm(json!({"k": "2", "j": "2", "z": "2"})),
        false,
    )
    .expect_err("conflict");
    assert_eq!(
        err.to_api_error().message,
        "Apply failed with 3 conflicts: conflicts with \"kubectl-client-side-apply\" using v1:\n- .data.j\n- .data.k\nconflicts with \"x\":\n- .data.z"
    );
}

#[test]
fn fields_no_longer_applied_are_removed_unless_owned_elsewhere() {
    let r = cm_req("a", NOW);
    let live = apply_ok(&r, None, &cm(json!({"x": "1", "y": "2", "z": "3"})), false);
    // b co-owns z
    let live = apply_ok(
        &cm_req("b", NOW),
        Some(&live),
        &cm(json!({"z": "3"})),
        false,
    );
    let next = apply_ok(&r, Some(&live), &cm(json!({"x": "1"})), false);
    assert_eq!(next["data"], json!({"x": "1", "z": "3"}));
    assert_eq!(fields(&next, "a"), json!({"f:data": {"f:x": {}}}));
    // a field set by an update is kept: the applier never owned it
    let mut updated = next.clone();
    updated["data"]["w"] = json!("4");
    update_managed_fields(&cm_req("editor", LATER), Some(&next), &mut updated);
    let again = apply_ok(&r, Some(&updated), &cm(json!({"x": "1"})), false);
    assert_eq!(again["data"], json!({"x": "1", "z": "3", "w": "4"}));
}

#[test]
fn removal_of_a_whole_struct_and_list_item() {
    let ty = deploy_ty();
    let r = req(ty, "a", NOW);
    let base = |extra: Value| {
        let mut c = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}},
                    "spec": {"containers": [{"name": "a", "image": "a"}]}}}
        });
        if let Value::Object(m) = extra {
            for (k, v) in m {
                c["spec"][k] = v;
            }
        }
        c
    };
    let with = base(json!({"strategy": {"rollingUpdate": {"maxSurge": 2}}, "minReadySeconds": 5}));
    let mut with_two = with.clone();
    with_two["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .expect("containers")
        .push(json!({"name": "b", "image": "b"}));
    let live = apply_ok(&r, None, &with_two, false);
    assert_eq!(live["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 2);
    let next = apply_ok(&r, Some(&live), &base(json!({})), false);
    assert!(
        next["spec"]["strategy"].get("rollingUpdate").is_none(),
        "{next}"
    );
    assert!(next["spec"].get("minReadySeconds").is_none());
    let names: Vec<&Value> = next["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, vec!["a"]);
}

#[test]
fn set_and_map_lists_merge_by_item() {
    let r = |m| cm_req(m, NOW);
    let with_finalizers = |f: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "finalizers": f}})
    };
    let live = apply_ok(&r("a"), None, &with_finalizers(json!(["x/a"])), false);
    let live = apply_ok(
        &r("b"),
        Some(&live),
        &with_finalizers(json!(["x/b"])),
        false,
    );
    assert_eq!(live["metadata"]["finalizers"], json!(["x/a", "x/b"]));
    assert_eq!(
        fields(&live, "b"),
        json!({"f:metadata": {"f:finalizers": {"v:\"x/b\"": {}}}})
    );
    // a drops its item; b's stays
    let live = apply_ok(&r("a"), Some(&live), &with_finalizers(json!([])), false);
    assert_eq!(live["metadata"]["finalizers"], json!(["x/b"]));

    // containers merge by name, ports by (containerPort, protocol) with protocol defaulted
    let ty = deploy_ty();
    let dep = |containers: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": containers}}}})
    };
    let live = apply_ok(
        &req(ty, "a", NOW),
        None,
        &dep(json!([{"name": "app", "image": "app:1", "ports": [{"containerPort": 80}]}])),
        false,
    );
    let live = apply_ok(
        &req(ty, "b", NOW),
        Some(&live),
        &dep(json!([
            {"name": "sidecar", "image": "s:1"},
            {"name": "app", "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}]}
        ])),
        false,
    );
    let containers = &live["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().map(Vec::len), Some(2));
    let app = containers
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "app"))
        .expect("app");
    assert_eq!(app["image"], "app:1");
    assert_eq!(
        app["ports"],
        json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}])
    );
    assert_eq!(
        fields(&live, "b")["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"],
        json!({".": {}, "f:name": {}, "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":
            {".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}}}})
    );
}

#[test]
fn list_merge_keeps_live_order_around_applied_items() {
    let ty = Ty::from_schema(Box::leak(Box::new(json!({
        "type": "object",
        "properties": {"items": {"type": "array", "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["k"],
            "items": {"type": "object", "properties": {"k": {"type": "string"}, "v": {"type": "string"}}}}}
    }))));
    let live = json!({"items": [{"k": "a"}, {"k": "b"}, {"k": "c"}]});
    let config = json!({"items": [{"k": "c", "v": "1"}, {"k": "d"}, {"k": "a", "v": "2"}]});
    let merged = merge(&ty, &live, &config).expect("merge");
    assert_eq!(
        merged,
        json!({"items": [{"k": "b"}, {"k": "c", "v": "1"}, {"k": "d"}, {"k": "a", "v": "2"}]})
    );
    let dup = json!({"items": [{"k": "a"}, {"k": "a"}]});
    let errs = merge(&ty, &live, &dup).expect_err("duplicates");
    assert_eq!(
        errs,
        vec![r#".items: duplicate entries for key [k="a"]"#.to_string()]
    );
}

#[test]
fn updates_move_ownership_and_merge_per_manager() {
    let r = |m| cm_req(m, NOW);
    let mut v1 = cm(json!({"a": "1", "b": "1"}));
    update_managed_fields(&r("creator"), None, &mut v1);
    let mut v2 = v1.clone();
    v2["data"]["a"] = json!("2");
    v2["data"]["c"] = json!("2");
    v2["data"].as_object_mut().expect("data").remove("b");
    update_managed_fields(&cm_req("editor", LATER), Some(&v1), &mut v2);
    // creator keeps only `data` itself (kube writes a member without children as `{}`)
    assert_eq!(fields(&v2, "creator"), json!({"f:data": {}}));
    assert_eq!(
        fields(&v2, "editor"),
        json!({"f:data": {"f:a": {}, "f:c": {}}})
    );
    assert_eq!(entry(&v2, "editor")["time"], LATER);
    assert_eq!(entry(&v2, "creator")["time"], NOW);
    // the same manager again: one entry, union of fields
    let mut v3 = v2.clone();
    v3["data"]["d"] = json!("3");
    update_managed_fields(&cm_req("editor", LATER), Some(&v2), &mut v3);
    assert_eq!(entries(&v3).len(), 2);
    assert_eq!(
        fields(&v3, "editor"),
        json!({"f:data": {"f:a": {}, "f:c": {}, "f:d": {}}})
    );
    // a no-op update touches nothing
    let mut same = v3.clone();
    update_managed_fields(&cm_req("noop", LATER), Some(&v3), &mut same);
    assert_eq!(same, v3);
    // status writes are separate managers, and main-resource writes never own status
    let mut st = v3.clone();
    st["metadata"]["labels"] = json!({"l": "1"});
    let status_req = Request {
        subresource: "status",
        reset: Reset::AllButStatus,
        ..cm_req("editor", LATER)
    };
    update_managed_fields(&status_req, Some(&v3), &mut st);
    assert_eq!(
        st["metadata"]["managedFields"],
        v3["metadata"]["managedFields"]
    );
}

#[test]
fn managed_fields_sent_with_an_update_are_used_and_can_be_reset() {
    let r = cm_req("m", NOW);
    let mut v1 = cm(json!({"a": "1"}));
    update_managed_fields(&r, None, &mut v1);
    let mut rewritten = v1.clone();
    rewritten["metadata"]["managedFields"][0]["manager"] = json!("renamed");
    update_managed_fields(&r, Some(&v1), &mut rewritten);
    assert_eq!(
        entry(&rewritten, "renamed")["fieldsV1"],
        json!({"f:data": {".": {}, "f:a": {}}})
    );
    // [] resets, and an object without managedFields is not tracked by updates
    let mut reset = v1.clone();
    reset["metadata"]["managedFields"] = json!([]);
    reset["data"]["b"] = json!("2");
    update_managed_fields(&r, Some(&v1), &mut reset);
    assert!(reset["metadata"].get("managedFields").is_none());
    let mut later = reset.clone();
    later["data"]["c"] = json!("3");
    update_managed_fields(&r, Some(&reset), &mut later);
    assert!(later["metadata"].get("managedFields").is_none());
    // ... until the first apply, which records what exists as before-first-apply
    let applied = apply_ok(
        &cm_req("ssa", LATER),
        Some(&later),
        &cm(json!({"d": "4"})),
        false,
    );
    assert_eq!(
        fields(&applied, "before-first-apply"),
        json!({"f:data": {".": {}, "f:a": {}, "f:b": {}, "f:c": {}}})
    );
    assert_eq!(fields(&applied, "ssa"), json!({"f:data": {"f:d": {}}}));
}

#[test]
fn update_managers_are_capped_at_ten() {
    let mut obj = cm(json!({"k0": "v"}));
    update_managed_fields(&cm_req("m0", "2025-05-01T10:00:00Z"), None, &mut obj);
    for i in 1..=11 {
        let mut next = obj.clone();
        next["data"][format!("k{i}")] = json!("v");
        let now = format!("2025-05-01T10:00:{i:02}Z");
        let manager = format!("m{i}");
        update_managed_fields(&cm_req(&manager, &now), Some(&obj), &mut next);
        obj = next;
    }
    let list = entries(&obj);
    assert_eq!(list.len(), 10, "{list:?}");
    let ancient = entry(&obj, "ancient-changes");
    assert_eq!(
        ancient["fieldsV1"],
        json!({"f:data": {".": {}, "f:k0": {}, "f:k1": {}, "f:k2": {}}})
    );
}

#[test]
fn kubectl_takes_over_client_side_apply_fields_that_match_last_applied() {
    let last = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default"}, "data": {"k": "1", "j": "1"}});
    let mut live = cm(json!({"k": "1", "j": "1"}));
    live["metadata"]["annotations"] = json!({LAST_APPLIED: format!("{last}\n")});
    update_managed_fields(&cm_req("kubectl-client-side-apply", NOW), None, &mut live);
    let config = cm(json!({"k": "2", "j": "1"}));
    // another manager conflicts
    assert!(apply(&cm_req("other", LATER), Some(&live), &config, false).is_err());
    // kubectl does not: k still holds its last-applied value
    let out = apply_ok(&cm_req("kubectl", LATER), Some(&live), &config, false);
    assert_eq!(out["data"]["k"], "2");
    assert_eq!(
        fields(&out, "kubectl-client-side-apply"),
        json!({"f:data": {".": {}, "f:j": {}}, "f:metadata": {"f:annotations": {".": {},
            "f:kubectl.kubernetes.io/last-applied-configuration": {}}}})
    );
    // and the annotation now holds what kubectl applied
    let annotation = out["metadata"]["annotations"][LAST_APPLIED]
        .as_str()
        .expect("annotation");
    let parsed: Value = serde_json::from_str(annotation).expect("json");
    assert_eq!(parsed, config);
    assert!(annotation.ends_with('\n'));
    // once the live value moved away from last-applied, kubectl conflicts too
    let mut drifted = live.clone();
    drifted["data"]["k"] = json!("9");
    update_managed_fields(
        &cm_req("kubectl-client-side-apply", LATER),
        Some(&live),
        &mut drifted,
    );
    let err =
        apply(&cm_req("kubectl", LATER), Some(&drifted), &config, false).expect_err("conflict");
    assert_eq!(
        err.to_api_error().message,
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.k"#
    );
}

#[test]
fn apply_rejects_bad_configurations() {
    let r = cm_req("m", NOW);
    let wrong_kind = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}});
    assert_eq!(
        apply(&r, None, &wrong_kind, false)
            .expect_err("kind")
            .to_api_error()
            .message,
        "invalid object type: /v1, Kind=Secret"
    );
    let mut with_mf = cm(json!({}));
    with_mf["metadata"]["managedFields"] = json!([]);
    let e = apply(&r, None, &with_mf, false)
        .expect_err("managedFields")
        .to_api_error();
    assert_eq!(
        (e.code(), e.message.as_str()),
        (400, "metadata.managedFields must be nil")
    );
    let dup = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ns", "finalizers": ["a", "a"]}});
    let e = apply(&r, None, &dup, false)
        .expect_err("dup")
        .to_api_error();
    assert_eq!(e.code(), 500);
    assert_eq!(
        e.message,
        r#"failed to create typed patch object (ns/c; v1, Kind=ConfigMap): .metadata.finalizers: duplicate entries for key [="a"]"#
    );
}

#[test]
fn applying_the_same_configuration_changes_nothing() {
    let r = cm_req("m", NOW);
    let config = cm(json!({"a": "1"}));
    let live = apply_ok(&r, None, &config, false);
    let again = apply(&cm_req("m", LATER), Some(&live), &config, false).expect("apply");
    assert!(!again.changed);
    assert_eq!(again.object, live);
}

#[test]
fn scale_entries_carry_no_time_and_take_replicas() {
    let ty = deploy_ty();
    let mut live = created_deployment();
    update_managed_fields(&req(ty, "kubectl-client-side-apply", NOW), None, &mut live);
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(5);
    let scale_req = Request {
        subresource: "scale",
        ..req(ty, "kubectl", LATER)
    };
    update_managed_fields(&scale_req, Some(&live), &mut scaled);
    let e = entry(&scaled, "kubectl");
    assert_eq!(e["subresource"], "scale");
    assert_eq!(e["operation"], "Update");
    assert!(e.get("time").is_none());
    assert_eq!(e["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    assert!(
        fields(&scaled, "kubectl-client-side-apply")["f:spec"]
            .get("f:replicas")
            .is_none()
    );
}

#[test]
fn normalize_writes_go_zero_values() {
    let ty = deploy_ty();
    assert_eq!(
        zero_object(&ty),
        json!({"metadata": {"creationTimestamp": null},
            "spec": {"selector": null, "strategy": {},
                "template": {"metadata": {"creationTimestamp": null}, "spec": {"containers": null}}},
            "status": {}})
    );
    let n = normalize(
        &ty,
        &json!({"metadata": {"labels": {}, "name": "x", "generation": 0},
            "spec": {"paused": false, "replicas": 0, "template": {"spec": {"containers": [{"name": "c", "ports": []}]}}}}),
    );
    assert!(n["metadata"].get("labels").is_none());
    assert!(n["metadata"].get("generation").is_none());
    assert!(n["spec"].get("paused").is_none());
    assert_eq!(n["spec"]["replicas"], 0);
    assert_eq!(
        n["spec"]["template"]["spec"]["containers"][0],
        json!({"name": "c", "resources": {}})
    );
}

#[test]
fn user_agent_manager() {
    assert_eq!(
        manager_from_user_agent("kubectl/v1.32.2 (linux/amd64) kubernetes/67a30c0"),
        "kubectl"
    );
    assert_eq!(manager_from_user_agent("kube-rs/1.0"), "kube-rs");
    assert_eq!(manager_from_user_agent("a\u{1}b/x"), "ab");
    assert_eq!(manager_from_user_agent(&"x".repeat(200)).len(), 128);
}

#[test]
fn crd_objects_and_custom_resources() {
    let crd_ty = Ty::builtin(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
    );
    let mut crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "conversion": {"strategy": "None"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object"}}}]
        }
    });
    let r = Request {
        ty: crd_ty,
        api_version: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        subresource: "",
        manager: "kubectl-create",
        now: NOW,
        reset: Reset::Status,
    };
    update_managed_fields(&r, None, &mut crd);
    assert_eq!(
        fields(&crd, "kubectl-create"),
        json!({"f:spec": {"f:conversion": {".": {}, "f:strategy": {}}, "f:group": {},
            "f:names": {"f:kind": {}, "f:listKind": {}, "f:plural": {}, "f:singular": {}},
            "f:scope": {}, "f:versions": {}}})
    );

    // a custom resource: list types from the schema's extensions, metadata as ObjectMeta
    let schema: &'static Value = Box::leak(Box::new(json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "cfg": {"type": "object", "x-kubernetes-map-type": "atomic",
                "additionalProperties": {"type": "string"}}
        }}}
    })));
    let r = Request {
        ty: Ty::from_schema(schema),
        api_version: "example.com/v1",
        kind: "Widget",
        subresource: "",
        manager: "a",
        now: NOW,
        reset: Reset::None,
    };
    let w = |tags: Value, cfg: Value| {
        json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "finalizers": ["x/y"]},
            "spec": {"tags": tags, "cfg": cfg}})
    };
    let live = apply_ok(&r, None, &w(json!(["a"]), json!({"k": "1"})), false);
    assert_eq!(
        fields(&live, "a"),
        json!({"f:metadata": {"f:finalizers": {"v:\"x/y\"": {}}},
            "f:spec": {"f:cfg": {}, "f:tags": {"v:\"a\"": {}}}})
    );
    let b = Request { manager: "b", ..r };
    let err = apply(&b, Some(&live), &w(json!(["b"]), json!({"j": "2"})), false)
        .expect_err("atomic map conflicts as a whole");
    assert_eq!(
        err.to_api_error().message,
        r#"Apply failed with 1 conflict: conflict with "a": .spec.cfg"#
    );
}

#[test]
fn status_applies_own_only_status() {
    let ty = deploy_ty();
    let live = apply_ok(
        &req(ty, "owner", NOW),
        None,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 1}}),
        false,
    );
    let status_req = Request {
        subresource: "status",
        reset: Reset::AllButStatus,
        ..req(ty, "controller", LATER)
    };
    // spec in a status apply is not the applier's and never conflicts
    let out = apply_ok(
        &status_req,
        Some(&live),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 7}, "status": {"replicas": 1}}),
        false,
    );
    let e = entry(&out, "controller");
    assert_eq!(e["subresource"], "status");
    assert_eq!(e["operation"], "Apply");
    assert_eq!(e["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
    assert_eq!(fields(&out, "owner"), json!({"f:spec": {"f:replicas": {}}}));
}
