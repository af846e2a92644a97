use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";
const POD: &str = "io.k8s.api.core.v1.Pod";

fn smp(doc: &Value, patch: Value, definition: &str) -> Value {
    strategic_merge_patch(doc, &patch, definition).expect("patch applies")
}

fn smp_err(doc: &Value, patch: Value, definition: &str) -> PatchError {
    strategic_merge_patch(doc, &patch, definition).expect_err("patch must fail")
}

/// The Deployment of the "Update API Objects in Place Using kubectl patch" tutorial.
fn patch_demo() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "patch-demo"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {
                    "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                    "tolerations": [
                        {"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}
                    ]
                }
            }
        }
    })
}

fn pod_spec(doc: &Value) -> &Value {
    &doc["spec"]["template"]["spec"]
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default()
}

fn pod_with(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
}

// ---- content types ----

#[test]
fn patch_type_from_content_type() {
    let cases = [
        ("application/json-patch+json", Some(PatchType::Json)),
        ("application/merge-patch+json", Some(PatchType::Merge)),
        (
            "application/strategic-merge-patch+json",
            Some(PatchType::StrategicMerge),
        ),
        ("application/apply-patch+yaml", Some(PatchType::Apply)),
        (
            "Application/Merge-Patch+JSON; charset=utf-8",
            Some(PatchType::Merge),
        ),
        ("application/json", None),
        ("", None),
    ];
    for (ct, want) in cases {
        assert_eq!(PatchType::from_content_type(ct), want, "{ct}");
    }
    assert_eq!(
        PatchType::StrategicMerge.content_type(),
        "application/strategic-merge-patch+json"
    );
}

// ---- strategic merge patch: the kubectl patch tutorial ----

#[test]
fn tutorial_strategic_patch_adds_a_container_by_name() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr-2", "image": "redis"}
    ]}}}});
    let out = smp(&patch_demo(), patch, DEPLOYMENT);
    let spec = pod_spec(&out);
    // kube lists the patch's new element first, then the existing ones
    assert_eq!(
        spec["containers"],
        json!([
            {"name": "patch-demo-ctr-2", "image": "redis"},
            {"name": "patch-demo-ctr", "image": "nginx"}
        ])
    );
    assert_eq!(spec["tolerations"], pod_spec(&patch_demo())["tolerations"]);
    assert_eq!(out["spec"]["replicas"], 2);
}

#[test]
fn tutorial_strategic_patch_replaces_tolerations() {
    let patch = json!({"spec": {"template": {"spec": {"tolerations": [
        {"effect": "NoSchedule", "key": "disktype", "value": "ssd"}
    ]}}}});
    let out = smp(&patch_demo(), patch, DEPLOYMENT);
    assert_eq!(
        pod_spec(&out)["tolerations"],
        json!([{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}])
    );
    assert_eq!(names(&pod_spec(&out)["containers"]), ["patch-demo-ctr"]);
}

#[test]
fn tutorial_merge_patch_replaces_containers() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}
    ]}}}});
    let out = merge_patch(&patch_demo(), &patch).expect("merge");
    assert_eq!(
        pod_spec(&out)["containers"],
        json!([{"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}])
    );
    assert_eq!(pod_spec(&out)["tolerations"][0]["key"], "dedicated");
}

#[test]
fn tutorial_retain_keys_switches_strategy_to_recreate() {
    let demo = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "retainkeys-demo"},
        "spec": {
            "selector": {"matchLabels": {"app": "nginx"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%"}},
            "template": {"metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "retainkeys-demo-ctr", "image": "nginx"}]}}
        }
    });
    // without the directive, rollingUpdate survives (and validation would reject it)
    let out = smp(
        &demo,
        json!({"spec": {"strategy": {"type": "Recreate"}}}),
        DEPLOYMENT,
    );
    assert_eq!(
        out["spec"]["strategy"],
        json!({"type": "Recreate", "rollingUpdate": {"maxSurge": "30%"}})
    );
    // with $retainKeys only the listed keys remain
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let out = smp(&demo, patch, DEPLOYMENT);
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(
        names(&pod_spec(&out)["containers"]),
        ["retainkeys-demo-ctr"]
    );
}

#[test]
fn retain_keys_rejects_patch_fields_it_does_not_list() {
    let demo = json!({"spec": {"strategy": {"type": "Recreate"}}});
    let patch = json!({"spec": {"strategy": {
        "$retainKeys": ["type"], "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}
    }}});
    let err = smp_err(&demo, patch, DEPLOYMENT);
    assert_eq!(err, PatchError::BadRetainKeysFormat);
    assert_eq!(err.to_string(), "invalid patch format of retainKeys");
    assert_eq!(err.code(), 400);
    let err = smp_err(
        &demo,
        json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
        DEPLOYMENT,
    );
    assert_eq!(err, PatchError::BadRetainKeysFormat);
}

#[test]
fn retain_keys_switches_a_volume_source() {
    let pod = pod_with(json!({
        "containers": [{"name": "c", "image": "i"}],
        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "other", "emptyDir": {}}]
    }));
    let patch = json!({"spec": {"volumes": [
        {"name": "data", "$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}}
    ]}});
    let out = smp(&pod, patch, POD);
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "data", "configMap": {"name": "cm"}}, {"name": "other", "emptyDir": {}}])
    );
}

// ---- strategic merge patch: the design doc's directives ----

#[test]
fn replace_directive_on_a_map() {
    let pod = pod_with(json!({
        "containers": [{"name": "a", "image": "a"}, {"name": "b", "image": "b"}],
        "restartPolicy": "Always"
    }));
    let patch = json!({"spec": {"$patch": "replace", "containers": [
        {"name": "nginx", "image": "nginx-1.0"}
    ]}});
    let out = smp(&pod, patch, POD);
    assert_eq!(
        out["spec"],
        json!({"containers": [{"name": "nginx", "image": "nginx-1.0"}]})
    );
    assert_eq!(out["metadata"]["name"], "p");
}

#[test]
fn replace_directive_on_a_list() {
    let pod = pod_with(json!({"containers": [
        {"name": "nginx", "image": "nginx-0.9", "args": ["x"]},
        {"name": "log-tailer", "image": "log-tailer-1.0"}
    ]}));
    let patch = json!({"spec": {"containers": [
        {"name": "nginx", "image": "nginx-1.0"},
        {"$patch": "replace"}
    ]}});
    let out = smp(&pod, patch, POD);
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "nginx", "image": "nginx-1.0"}])
    );
}

#[test]
fn delete_directive_removes_list_elements_by_merge_key() {
    let pod = pod_with(json!({"containers": [
        {"name": "nginx", "image": "nginx-0.9"},
        {"name": "log-tailer", "image": "log-tailer-1.0"},
        {"name": "log-tailer", "image": "duplicate"}
    ]}));
    let patch = json!({"spec": {"containers": [
        {"name": "nginx", "image": "nginx-1.0"},
        {"$patch": "delete", "name": "log-tailer"}
    ]}});
    let out = smp(&pod, patch, POD);
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "nginx", "image": "nginx-1.0"}])
    );
}

#[test]
fn delete_directive_and_null_remove_a_map() {
    let demo = json!({"spec": {"strategy": {"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1}}}});
    for patch in [
        json!({"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}}),
        json!({"spec": {"strategy": {"rollingUpdate": null}}}),
    ] {
        let out = smp(&demo, patch, DEPLOYMENT);
        assert_eq!(out["spec"]["strategy"], json!({"type": "RollingUpdate"}));
    }
}

#[test]
fn delete_from_primitive_list() {
    let doc = json!({"metadata": {"name": "x", "finalizers": ["a", "b", "c"]}});
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "c"]}});
    let out = smp(&doc, patch, DEPLOYMENT);
    assert_eq!(out["metadata"]["finalizers"], json!(["a"]));
    // a malformed directive key
    let patch = json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["b"]}});
    let err = smp_err(&doc, patch, DEPLOYMENT);
    assert_eq!(err, PatchError::BadPrimitiveListFormat);
}

#[test]
fn finalizers_merge_as_a_set() {
    let doc = json!({"metadata": {"name": "x", "finalizers": ["a", "b"]}});
    let out = smp(&doc, json!({"metadata": {"finalizers": ["c", "a"]}}), POD);
    // union without duplicates; patch elements first in patch order, like kube
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
    let out = smp(&doc, json!({"metadata": {"finalizers": ["b"]}}), POD);
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
}

#[test]
fn set_element_order_of_primitives() {
    let doc = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
    let patch = json!({"metadata": {"$setElementOrder/finalizers": ["b", "c", "a"]}});
    let out = smp(&doc, patch, POD);
    assert_eq!(out["metadata"]["finalizers"], json!(["b", "c", "a"]));
}

#[test]
fn set_element_order_of_maps() {
    let pod = pod_with(json!({"containers": [
        {"name": "a", "image": "ia"}, {"name": "b", "image": "ib"}, {"name": "c", "image": "ic"}
    ]}));
    let patch = json!({"spec": {"$setElementOrder/containers": [
        {"name": "b"}, {"name": "c"}, {"name": "a"}
    ]}});
    let out = smp(&pod, patch, POD);
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "b", "image": "ib"}, {"name": "c", "image": "ic"}, {"name": "a", "image": "ia"}])
    );
}

#[test]
fn kubectl_apply_style_patch_orders_merges_and_deletes() {
    let pod = pod_with(json!({"containers": [
        {"name": "a", "image": "nginx"}, {"name": "b", "image": "redis"},
        {"name": "server-only", "image": "x"}
    ]}));
    let patch = json!({"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "b"}],
        "containers": [
            {"name": "c", "image": "busybox"},
            {"name": "b", "image": "redis:7"},
            {"$patch": "delete", "name": "a"}
        ]
    }});
    let out = smp(&pod, patch, POD);
    assert_eq!(
        out["spec"]["containers"],
        json!([
            {"name": "c", "image": "busybox"},
            {"name": "b", "image": "redis:7"},
            {"name": "server-only", "image": "x"}
        ])
    );
    // the directive never reaches the stored object
    assert!(out["spec"].get("$setElementOrder/containers").is_none());
}

#[test]
fn set_element_order_must_agree_with_the_patch_list() {
    let pod = pod_with(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
    let patch = json!({"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
        "containers": [{"name": "b", "image": "x"}, {"name": "a", "image": "y"}]
    }});
    let err = smp_err(&pod, patch, POD);
    assert!(
        matches!(err, PatchError::SetElementOrderMismatch { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("The order in patch list:\n[map[image:x name:b]")
    );
    let err = smp_err(
        &pod,
        json!({"spec": {"$setElementOrder/containers": "a"}}),
        POD,
    );
    assert_eq!(
        err.to_string(),
        "expected a []interface {}, but received a string"
    );
    let err = smp_err(&pod, json!({"spec": {"$setElementOrder": []}}), POD);
    assert_eq!(err, PatchError::BadSetElementOrderFormat);
}

// ---- strategic merge patch: merge keys of the built-in types ----

#[test]
fn nested_container_lists_merge_by_their_keys() {
    let pod = pod_with(json!({"containers": [{
        "name": "app", "image": "app:1",
        "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}],
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        "args": ["--a", "--b"]
    }]}));
    let patch = json!({"spec": {"containers": [{
        "name": "app",
        "ports": [{"containerPort": 80, "name": "http"}],
        "env": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}],
        "volumeMounts": [{"mountPath": "/data", "readOnly": true}],
        "args": ["--c"]
    }]}});
    let out = smp(&pod, patch, POD);
    let c = &out["spec"]["containers"][0];
    assert_eq!(c["image"], "app:1");
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}, {"containerPort": 443}])
    );
    assert_eq!(
        c["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "two"}, {"name": "C", "value": "3"}])
    );
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "data", "mountPath": "/data", "readOnly": true}])
    );
    // args has no strategy: replaced
    assert_eq!(c["args"], json!(["--c"]));
}

#[test]
fn pod_spec_keyed_lists() {
    let pod = pod_with(json!({
        "containers": [{"name": "c"}],
        "initContainers": [{"name": "init", "image": "a"}],
        "imagePullSecrets": [{"name": "s1"}],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
        "topologySpreadConstraints": [
            {"topologyKey": "zone", "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}
        ],
        "readinessGates": [{"conditionType": "x"}]
    }));
    let patch = json!({"spec": {
        "initContainers": [{"name": "init", "image": "b"}],
        "imagePullSecrets": [{"name": "s2"}],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}],
        "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2}],
        "readinessGates": [{"conditionType": "y"}]
    }});
    let out = smp(&pod, patch, POD);
    let s = &out["spec"];
    assert_eq!(s["initContainers"], json!([{"name": "init", "image": "b"}]));
    assert_eq!(names(&s["imagePullSecrets"]), ["s2", "s1"]);
    assert_eq!(
        s["hostAliases"],
        json!([{"ip": "10.0.0.1", "hostnames": ["b"]}])
    );
    assert_eq!(
        s["topologySpreadConstraints"],
        json!([{"topologyKey": "zone", "maxSkew": 2, "whenUnsatisfiable": "DoNotSchedule"}])
    );
    assert_eq!(s["readinessGates"], json!([{"conditionType": "y"}]));
}

#[test]
fn service_ports_merge_by_port() {
    let svc = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}});
    let patch = json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}});
    let out = smp(&svc, patch, "io.k8s.api.core.v1.Service");
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": 80, "targetPort": 9090}, {"port": 443}])
    );
}

#[test]
fn status_conditions_and_addresses_merge_by_type() {
    let node = json!({"status": {
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "DiskPressure", "status": "False"}],
        "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]
    }});
    let patch = json!({"status": {
        "conditions": [{"type": "Ready", "status": "True"}],
        "addresses": [{"type": "Hostname", "address": "n1"}]
    }});
    let out = smp(&node, patch, "io.k8s.api.core.v1.Node");
    assert_eq!(
        out["status"]["conditions"],
        json!([{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}])
    );
    assert_eq!(
        out["status"]["addresses"],
        json!([{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.1"}])
    );
    let dep = json!({"status": {"conditions": [{"type": "Available", "status": "False"}]}});
    let patch = json!({"status": {"conditions": [{"type": "Available", "status": "True"}]}});
    let out = smp(&dep, patch, DEPLOYMENT);
    assert_eq!(
        out["status"]["conditions"],
        json!([{"type": "Available", "status": "True"}])
    );
}

#[test]
fn owner_references_merge_by_uid_and_labels_merge_as_maps() {
    let doc = json!({"metadata": {
        "labels": {"a": "1", "b": "2"},
        "ownerReferences": [{"uid": "u1", "name": "one"}]
    }});
    let patch = json!({"metadata": {
        "labels": {"b": null, "c": "3"},
        "ownerReferences": [{"uid": "u2", "name": "two"}]
    }});
    let out = smp(&doc, patch, "io.k8s.api.core.v1.ConfigMap");
    assert_eq!(out["metadata"]["labels"], json!({"a": "1", "c": "3"}));
    assert_eq!(
        out["metadata"]["ownerReferences"],
        json!([{"uid": "u2", "name": "two"}, {"uid": "u1", "name": "one"}])
    );
}

#[test]
fn atomic_lists_and_replace_strategy() {
    let role = json!({"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]});
    let patch =
        json!({"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]});
    let out = smp(&role, patch.clone(), "io.k8s.api.rbac.v1.Role");
    assert_eq!(out["rules"], patch["rules"]);
    let pdb = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}, "minAvailable": 1}});
    let patch = json!({"spec": {"selector": {"matchLabels": {"b": "2"}}}});
    let out = smp(&pdb, patch, "io.k8s.api.policy.v1.PodDisruptionBudget");
    assert_eq!(
        out["spec"],
        json!({"selector": {"matchLabels": {"b": "2"}}, "minAvailable": 1})
    );
}

#[test]
fn unknown_types_merge_like_json_merge_patch() {
    let doc = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
    let patch = json!({"a": {"c": [3], "e": {"f": null, "g": 1}}, "d": null});
    let out = smp(&doc, patch, "example.com.v1.Widget");
    assert_eq!(out, json!({"a": {"b": 1, "c": [3], "e": {"g": 1}}}));
}

#[test]
fn new_values_are_stored_without_directives() {
    let pod = pod_with(json!({"containers": [{"name": "c"}]}));
    let patch = json!({"spec": {
        "volumes": [{"name": "v", "$retainKeys": ["name", "emptyDir"], "emptyDir": {}}],
        "nodeSelector": {"disk": "ssd", "gone": null},
        "$setElementOrder/volumes": [{"name": "v"}]
    }});
    let out = smp(&pod, patch, POD);
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "v", "emptyDir": {}}])
    );
    assert_eq!(out["spec"]["nodeSelector"], json!({"disk": "ssd"}));
}

#[test]
fn null_and_empty_patches() {
    let doc = patch_demo();
    assert_eq!(smp(&doc, json!({}), DEPLOYMENT), doc);
    assert_eq!(smp(&doc, Value::Null, DEPLOYMENT), doc);
    let out = smp(&doc, json!({"spec": {"replicas": null}}), DEPLOYMENT);
    assert!(out["spec"].get("replicas").is_none());
}

// ---- strategic merge patch: errors ----

#[test]
fn missing_merge_key_is_an_error() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"image": "nginx"}]}}}});
    let err = smp_err(&patch_demo(), patch, DEPLOYMENT);
    assert_eq!(
        err.to_string(),
        "map: map[image:nginx] does not contain declared merge key: name"
    );
    assert_eq!(err.code(), 422);
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}});
    let err = smp_err(&patch_demo(), patch, DEPLOYMENT);
    assert_eq!(
        err.to_string(),
        "map: map[$patch:delete] does not contain declared merge key: name"
    );
}

#[test]
fn invalid_directives_are_errors() {
    let err = smp_err(
        &patch_demo(),
        json!({"spec": {"$patch": "bogus", "replicas": 3}}),
        DEPLOYMENT,
    );
    assert_eq!(
        err.to_string(),
        "unknown patch type: bogus in map: map[$patch:bogus replicas:3]"
    );
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"$patch": "merge", "name": "x"}]}}}});
    let err = smp_err(&patch_demo(), patch, DEPLOYMENT);
    assert_eq!(err, PatchError::MergeListDirective);
    // `$patch: merge` on a map is the default strategy spelled out
    let out = smp(
        &patch_demo(),
        json!({"spec": {"$patch": "merge", "replicas": 3}}),
        DEPLOYMENT,
    );
    assert_eq!(out["spec"]["replicas"], 3);
    assert_eq!(out["spec"]["selector"]["matchLabels"]["app"], "nginx");
}

#[test]
fn malformed_lists_are_errors() {
    let doc = json!({"metadata": {"finalizers": []}});
    let err = smp_err(&doc, json!({"metadata": {"finalizers": [["a"]]}}), POD);
    assert_eq!(err, PatchError::ListOfLists);
    let doc = json!({"metadata": {"finalizers": ["a"]}});
    let err = smp_err(&doc, json!({"metadata": {"finalizers": [1]}}), POD);
    assert_eq!(
        err.to_string(),
        "list element types are not identical: [[a] [1]]"
    );
    let err = smp_err(&doc, json!({"metadata": {"finalizers": [{"a": 1}]}}), POD);
    assert!(matches!(err, PatchError::MixedListTypes(_)));
    let doc = json!({"metadata": {"finalizers": [{"x": 1}]}});
    let err = smp_err(&doc, json!({"metadata": {"finalizers": [{"a": 1}]}}), POD);
    assert_eq!(
        err.to_string(),
        "cannot merge lists without merge key for unknown type"
    );
}

#[test]
fn non_object_patches_and_documents_are_bad_requests() {
    let err = smp_err(&patch_demo(), json!([1]), DEPLOYMENT);
    assert_eq!(
        err.to_string(),
        "json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
    let api: ApiError = err.into();
    assert_eq!(api.code(), 400);
    assert_eq!(api.reason, Reason::BadRequest);
    let err = smp_err(&json!("doc"), json!({}), DEPLOYMENT);
    assert_eq!(err, PatchError::BadJsonDoc);
}

// ---- JSON patch (RFC 6902) ----

#[test]
fn json_patch_operations() {
    let doc = json!({"foo": "bar", "baz": [1, 2], "q": {"r": 1}});
    let patch = json!([
        {"op": "add", "path": "/new", "value": {"a": 1}},
        {"op": "add", "path": "/baz/1", "value": 9},
        {"op": "add", "path": "/baz/-", "value": 3},
        {"op": "remove", "path": "/foo"},
        {"op": "replace", "path": "/q/r", "value": 2},
        {"op": "move", "from": "/new/a", "path": "/moved"},
        {"op": "copy", "from": "/baz/0", "path": "/copied"},
        {"op": "test", "path": "/baz", "value": [1, 9, 2, 3]}
    ]);
    let out = json_patch(&doc, &patch).expect("applies");
    assert_eq!(
        out,
        json!({"baz": [1, 9, 2, 3], "q": {"r": 2}, "new": {}, "moved": 1, "copied": 1})
    );
}

#[test]
fn json_patch_failures() {
    let doc = json!({"metadata": {"name": "x"}, "a": [1]});
    let cases = [
        (
            json!([{"op": "test", "path": "/metadata/name", "value": "y"}]),
            "testing value /metadata/name failed: test failed",
        ),
        (
            json!([{"op": "add", "path": "/metadata/labels/app", "value": "y"}]),
            "add operation does not apply: doc is missing path: \"/metadata/labels/app\": missing value",
        ),
        (
            json!([{"op": "remove", "path": "/metadata/labels"}]),
            "remove operation does not apply: doc is missing path: \"/metadata/labels\": missing value",
        ),
        (
            json!([{"op": "replace", "path": "/a/5", "value": 1}]),
            "replace operation does not apply: doc is missing path: /a/5: missing value",
        ),
        (
            json!([{"op": "move", "from": "/nope", "path": "/b"}]),
            "move operation does not apply: doc is missing from path: /nope: missing value",
        ),
    ];
    for (patch, want) in cases {
        let err = json_patch(&doc, &patch).expect_err("fails");
        assert_eq!(err.to_string(), want);
        assert_eq!(err.code(), 422);
    }
    // the failed test after a successful add leaves nothing behind: doc is borrowed
    let patch = json!([
        {"op": "add", "path": "/b", "value": 1},
        {"op": "test", "path": "/b", "value": 2}
    ]);
    assert!(json_patch(&doc, &patch).is_err());
    let api: ApiError = json_patch(&doc, &patch).expect_err("fails").into();
    assert_eq!(api.code(), 422);
    assert_eq!(
        api.message,
        "the server rejected our request due to an error in our request"
    );
    assert_eq!(
        api.causes[0]["message"],
        "testing value /b failed: test failed"
    );
}

/// evanphx/json-patch: `test` with null passes on a missing (or null) path and fails on a
/// present value — kube-rs's finalizer helper adds the first finalizer this way.
#[test]
fn json_patch_test_null_matches_missing() {
    let doc = json!({"metadata": {"name": "x", "labels": null}});
    let patch = json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}
    ]);
    let out = json_patch(&doc, &patch).expect("null test on missing path passes");
    assert_eq!(out["metadata"]["finalizers"], json!(["f"]));
    let patch = json!([{"op": "test", "path": "/metadata/labels", "value": null}]);
    assert!(json_patch(&doc, &patch).is_ok());
    let patch = json!([{"op": "test", "path": "/metadata/name", "value": null}]);
    assert_eq!(
        json_patch(&doc, &patch).expect_err("present").to_string(),
        "testing value /metadata/name failed: test failed"
    );
}

#[test]
fn json_patch_rejects_malformed_documents() {
    let doc = json!({});
    for patch in [
        json!({"op": "add"}),
        json!([{"op": "frobnicate", "path": "/a"}]),
        json!([{"op": "add", "path": "/a"}]),
        json!([{"op": "add", "path": "a", "value": 1}]),
    ] {
        let err = json_patch(&doc, &patch).expect_err("malformed");
        assert!(matches!(err, PatchError::InvalidJsonPatch(_)), "{err}");
        assert_eq!(err.code(), 400);
    }
    let many: Vec<Value> = (0..=MAX_JSON_PATCH_OPERATIONS)
        .map(|_| json!({"op": "test", "path": "", "value": {}}))
        .collect();
    let err = json_patch(&doc, &Value::Array(many)).expect_err("too many");
    assert_eq!(
        err.to_string(),
        "The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
    assert_eq!(err.code(), 413);
    let api: ApiError = err.into();
    assert_eq!(api.reason, Reason::RequestEntityTooLarge);
    assert!(
        api.message
            .starts_with("Request entity too large: The allowed maximum")
    );
}

// ---- JSON merge patch (RFC 7386) ----

#[test]
fn merge_patch_rfc7386_appendix_a() {
    let cases = [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (
            json!({"a": "b", "b": "c"}),
            json!({"a": null}),
            json!({"b": "c"}),
        ),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (
            json!({"a": [{"b": "c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "b"}), json!(["c"]), json!(["c"])),
        (json!({"a": "foo"}), json!(null), json!(null)),
        (json!({"a": "foo"}), json!("bar"), json!("bar")),
        (
            json!({"e": null}),
            json!({"a": 1}),
            json!({"e": null, "a": 1}),
        ),
        (
            json!([1, 2]),
            json!({"a": "b", "c": null}),
            json!({"a": "b"}),
        ),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ];
    for (doc, patch, want) in cases {
        assert_eq!(
            merge_patch(&doc, &patch).expect("merge"),
            want,
            "{doc} + {patch}"
        );
    }
}

#[test]
fn merge_patch_rfc7386_section_3_example() {
    let doc = json!({
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged"
    });
    let patch = json!({
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": null},
        "tags": ["example"]
    });
    assert_eq!(
        merge_patch(&doc, &patch).expect("merge"),
        json!({
            "title": "Hello!",
            "author": {"givenName": "John"},
            "tags": ["example"],
            "content": "This will be unchanged",
            "phoneNumber": "+01-123-456-7890"
        })
    );
}

// ---- helpers ----

#[test]
fn go_formatting_of_values() {
    let v = json!({"b": [1, 2.5, "x"], "a": {"n": null, "t": true}, "big": 1_000_000, "s": 1e-5});
    assert_eq!(
        go_fmt(&v),
        "map[a:map[n:<nil> t:true] b:[1 2.5 x] big:1e+06 s:1e-05]"
    );
    assert_eq!(go_fmt(&json!(123456)), "123456");
    assert_eq!(go_fmt(&json!(0.0001)), "0.0001");
}

#[test]
fn tag_table_matches_the_go_types() {
    let meta = field_patch_meta("io.k8s.api.core.v1.PodSpec", "volumes").expect("tagged");
    assert_eq!(meta.strategy, PatchStrategy::Merge);
    assert!(meta.retain_keys);
    assert_eq!(meta.merge_key, Some("name"));
    let meta = field_patch_meta("io.k8s.api.apps.v1.DeploymentSpec", "strategy");
    assert_eq!(
        meta,
        Some(FieldPatchMeta {
            strategy: PatchStrategy::Default,
            retain_keys: true,
            merge_key: None
        })
    );
    let fin = field_patch_meta(
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
    );
    assert_eq!(
        fin.map(|m| (m.strategy, m.merge_key)),
        Some((PatchStrategy::Merge, None))
    );
    assert!(field_patch_meta("io.k8s.api.core.v1.PodSpec", "tolerations").is_none());
    // every tabled definition that warren serves exists with that field in the schemas
    for (def, field) in [
        ("io.k8s.api.core.v1.PodSpec", "containers"),
        ("io.k8s.api.core.v1.Container", "volumeDevices"),
        ("io.k8s.api.core.v1.EphemeralContainer", "env"),
        ("io.k8s.api.core.v1.ServiceAccount", "secrets"),
        ("io.k8s.api.apps.v1.DaemonSetStatus", "conditions"),
        (
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "ownerReferences",
        ),
    ] {
        let schema = crate::schema::definition(def).expect(def);
        assert!(
            crate::schema::property(schema, field).is_some(),
            "{def}.{field}"
        );
        assert!(field_patch_meta(def, field).is_some(), "{def}.{field}");
    }
}

// ---- never panic ----

const KEYS: &[&str] = &[
    "spec",
    "template",
    "metadata",
    "containers",
    "initContainers",
    "name",
    "image",
    "finalizers",
    "labels",
    "ports",
    "containerPort",
    "env",
    "value",
    "strategy",
    "rollingUpdate",
    "type",
    "volumes",
    "tolerations",
    "status",
    "conditions",
    "a",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$setElementOrder/finalizers",
    "$deleteFromPrimitiveList/finalizers",
    "$setElementOrder",
    "$deleteFromPrimitiveList/x",
];
const WORDS: &[&str] = &[
    "a",
    "b",
    "name",
    "replace",
    "delete",
    "merge",
    "containers",
    "type",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0i64..4).prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..6).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

fn json_patch_ops() -> impl Strategy<Value = Value> {
    const OPS: &[&str] = &["add", "remove", "replace", "move", "copy", "test"];
    const PATHS: &[&str] = &[
        "",
        "/a",
        "/a/0",
        "/a/-",
        "/spec",
        "/spec/containers/0",
        "/-",
        "/0",
        "/~1",
        "/a/b/c",
    ];
    let op = (
        prop::sample::select(OPS),
        prop::sample::select(PATHS),
        prop::option::of(prop::sample::select(PATHS)),
        prop::option::of(json_value()),
    )
        .prop_map(|(op, path, from, value)| {
            let mut o = json!({"op": op, "path": path});
            if let Some(f) = from {
                o["from"] = json!(f);
            }
            if let Some(v) = value {
                o["value"] = v;
            }
            o
        });
    prop::collection::vec(op, 0..6).prop_map(Value::Array)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn strategic_merge_patch_never_panics(
        doc in prop_oneof![json_value(), Just(patch_demo())],
        patch in json_value(),
        def in prop::sample::select(vec![DEPLOYMENT, POD, "io.k8s.api.core.v1.Node", "x.y.Z"]),
    ) {
        let _ = strategic_merge_patch(&doc, &patch, def);
        // an empty patch changes nothing
        if doc.is_object() {
            prop_assert_eq!(strategic_merge_patch(&doc, &json!({}), def).ok(), Some(doc.clone()));
        }
    }

    #[test]
    fn strategic_merge_patch_of_merge_keyed_lists_never_panics(
        containers in prop::collection::vec(json_value(), 0..4),
        patch in prop::collection::vec(json_value(), 0..4),
        order in json_value(),
    ) {
        let doc = pod_with(json!({"containers": containers, "finalizers": ["a"]}));
        let p = json!({"spec": {"containers": patch, "$setElementOrder/containers": order}});
        let _ = strategic_merge_patch(&doc, &p, POD);
    }

    #[test]
    fn json_patch_never_panics(doc in json_value(), patch in json_patch_ops()) {
        let _ = json_patch(&doc, &patch);
    }

    #[test]
    fn merge_patch_is_idempotent(doc in json_value(), patch in json_value()) {
        let once = merge_patch(&doc, &patch).expect("merge patch always applies");
        prop_assert_eq!(merge_patch(&once, &patch).ok(), Some(once));
    }
}
