//! CustomResourceDefinitions end to end with kubectl 1.32: establishing, discovery (short
//! names, categories), printer columns, structural-schema validation and pruning, defaults,
//! status and scale subresources, explain, several versions, cluster scope, deletion and
//! restarts. Expected output is what kube-apiserver 1.33 and kubectl print.

use serde_json::{Value, json};
use warren_e2e::{Warren, is_age, lines};

/// `kubectl get` output with the trailing age of each row (when it is one) as `<age>`.
fn table(out: &str) -> Vec<String> {
    lines(out)
        .into_iter()
        .map(|row| {
            let mut cells: Vec<&str> = row.split(' ').collect();
            if cells.last().is_some_and(|c| is_age(c)) {
                cells.pop();
                cells.push("<age>");
            }
            cells.join(" ")
        })
        .collect()
}

fn stdin_ok(w: &Warren, args: &[&str], manifest: &str) -> String {
    w.kubectl_apply_ok(args, manifest)
}

/// kubectl with `manifest` on stdin that must fail; returns stderr.
fn stdin_err(w: &Warren, args: &[&str], manifest: &str) -> String {
    let out = w.kubectl_stdin(args, Some(manifest));
    assert!(
        !out.status.success(),
        "kubectl {args:?} unexpectedly succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn widgets_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {
                "plural": "widgets", "singular": "widget", "kind": "Widget",
                "shortNames": ["wd"], "categories": ["all"],
            },
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {
                    "status": {},
                    "scale": {
                        "specReplicasPath": ".spec.replicas",
                        "statusReplicasPath": ".status.replicas",
                        "labelSelectorPath": ".status.selector",
                    },
                },
                "selectableFields": [{"jsonPath": ".spec.color"}],
                "additionalPrinterColumns": [
                    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Size", "type": "string", "jsonPath": ".spec.size", "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": "A Widget is a thing with replicas.",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "description": "The desired state of the widget.",
                            "required": ["color"],
                            "properties": {
                                "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1,
                                             "description": "How many copies."},
                                "color": {"type": "string", "enum": ["red", "green", "blue"],
                                          "description": "The widget's color."},
                                "size": {"type": "string", "default": "medium"},
                                "name": {"type": "string", "maxLength": 5},
                                "tags": {"type": "array", "items": {"type": "string"},
                                         "x-kubernetes-list-type": "set"},
                                "when": {"type": "string", "format": "date-time"},
                            },
                        },
                        "status": {
                            "type": "object",
                            "properties": {
                                "replicas": {"type": "integer"},
                                "selector": {"type": "string"},
                                "conditions": {"type": "array", "items": {
                                    "type": "object",
                                    "properties": {"type": {"type": "string"}, "status": {"type": "string"}},
                                }},
                            },
                        },
                    },
                }},
            }],
        },
    })
}

fn widget(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})
}

fn establish(w: &Warren, crd: &Value) {
    let name = crd["metadata"]["name"].as_str().expect("name").to_string();
    assert_eq!(
        stdin_ok(w, &["create", "-f", "-"], &crd.to_string()),
        format!("customresourcedefinition.apiextensions.k8s.io/{name} created\n")
    );
    assert_eq!(
        w.kubectl_ok(&[
            "wait",
            "--for=condition=Established",
            &format!("crd/{name}"),
            "--timeout=30s"
        ]),
        format!("customresourcedefinition.apiextensions.k8s.io/{name} condition met\n")
    );
}

/// A namespaced CRD with printer columns, short name, categories, status and scale
/// subresources and a validation schema, driven the way users drive one.
#[test]
fn namespaced_crd_serves_validates_and_prints() {
    let w = Warren::start();
    establish(&w, &widgets_crd());

    // the CRD's status as kube records it
    let crd = w.get_json(&["crd", "widgets.example.com"]);
    let conditions: Vec<(String, String, String)> = crd["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap_or_default().to_string(),
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        conditions,
        [
            ("NamesAccepted".into(), "True".into(), "NoConflicts".into()),
            (
                "Established".into(),
                "True".into(),
                "InitialNamesAccepted".into()
            ),
        ]
    );
    assert_eq!(crd["status"]["acceptedNames"]["shortNames"], json!(["wd"]));
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    assert_eq!(crd["spec"]["names"]["listKind"], "WidgetList");
    assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));

    // create and list with the short name: printer columns, defaults applied
    assert_eq!(
        stdin_ok(
            &w,
            &["create", "-f", "-"],
            &widget("w1", json!({"color": "red", "replicas": 2})).to_string()
        ),
        "widget.example.com/w1 created\n"
    );
    stdin_ok(
        &w,
        &["create", "-f", "-"],
        &widget("w2", json!({"color": "blue"})).to_string(),
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "wd"])),
        [
            "NAME REPLICAS COLOR READY AGE",
            "w1 2 red <age>",
            "w2 1 blue <age>"
        ]
    );
    assert_eq!(
        table(&w.kubectl_ok(&["get", "widgets", "-o", "wide"])),
        [
            "NAME REPLICAS COLOR READY SIZE AGE",
            "w1 2 red medium <age>",
            "w2 1 blue medium <age>"
        ]
    );
    let w1 = w.get_json(&["widget", "w1"]);
    assert_eq!(
        w1["spec"],
        json!({"color": "red", "replicas": 2, "size": "medium"})
    );
    assert_eq!(w1["metadata"]["generation"], 1);
    assert_eq!(w1["apiVersion"], "example.com/v1");
    let all = table(&w.kubectl_ok(&["get", "all"]));
    assert!(
        all.iter().any(|l| l == "widget.example.com/w1 2 red <age>"),
        "{all:#?}"
    );
    assert_eq!(
        lines(&w.kubectl_ok(&["api-resources", "--api-group=example.com"])),
        [
            "NAME SHORTNAMES APIVERSION NAMESPACED KIND",
            "widgets wd example.com/v1 true Widget"
        ]
    );

    // schema validation: 422 naming the fields as kube does
    let err = stdin_err(
        &w,
        &["create", "-f", "-"],
        &widget("bad", json!({"color": "pink", "replicas": "two", "name": "toolong", "tags": ["a", "a"], "when": "noon"})).to_string(),
    );
    assert_eq!(
        lines(&err),
        [
            "The Widget \"bad\" is invalid:",
            "* spec.color: Unsupported value: \"pink\": supported values: \"red\", \"green\", \"blue\"",
            "* spec.name: Too long: may not be more than 5 bytes",
            "* spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
            "* spec.when: Invalid value: \"noon\": spec.when in body must be of type date-time: \"noon\"",
            "* .spec.replicas: Invalid value: 0: .spec.replicas accessor error: two is of the type string, expected int64",
            "* spec.tags[1]: Duplicate value: \"a\"",
        ]
    );
    let err = stdin_err(
        &w,
        &["create", "-f", "-"],
        &widget("bad", json!({"replicas": 11})).to_string(),
    );
    assert_eq!(
        lines(&err),
        [
            "The Widget \"bad\" is invalid:",
            "* spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
            "* spec.color: Required value",
        ]
    );
    let err = stdin_err(
        &w,
        &["create", "-f", "-"],
        &widget("Bad_Name", json!({"color": "red"})).to_string(),
    );
    assert!(
        err.starts_with("The Widget \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"),
        "{err}"
    );

    // unknown fields: kubectl's default strict validation fails, others prune
    let unknown = widget("w3", json!({"color": "green", "foo": "bar"})).to_string();
    assert_eq!(
        lines(&stdin_err(&w, &["create", "-f", "-"], &unknown)),
        [
            "Error from server (BadRequest): error when creating \"STDIN\": Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.foo\""
        ]
    );
    let out = w.kubectl_stdin(&["create", "--validate=warn", "-f", "-"], Some(&unknown));
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Warning: unknown field \"spec.foo\"\n"
    );
    assert_eq!(
        w.get_json(&["wd", "w3"])["spec"],
        json!({"color": "green", "replicas": 1, "size": "medium"})
    );

    // status subresource: main writes ignore status, status writes ignore spec
    assert_eq!(
        w.kubectl_ok(&[
            "patch", "wd", "w1", "--subresource=status", "--type=merge", "-p",
            r#"{"status":{"replicas":2,"selector":"app=w1","conditions":[{"type":"Ready","status":"True"}]},"spec":{"color":"blue"}}"#,
        ]),
        "widget.example.com/w1 patched\n"
    );
    w.kubectl_ok(&[
        "patch",
        "wd",
        "w1",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":7}}"#,
    ]);
    let w1 = w.get_json(&["wd", "w1"]);
    assert_eq!(w1["spec"]["color"], "red");
    assert_eq!(w1["status"]["replicas"], 2);
    assert_eq!(w1["metadata"]["generation"], 1);
    assert_eq!(
        table(&w.kubectl_ok(&["get", "wd", "w1"])),
        ["NAME REPLICAS COLOR READY AGE", "w1 2 red True <age>"]
    );

    // scale subresource
    assert_eq!(
        w.kubectl_ok(&["scale", "wd", "w1", "--replicas=5"]),
        "widget.example.com/w1 scaled\n"
    );
    let w1 = w.get_json(&["wd", "w1"]);
    assert_eq!(w1["spec"]["replicas"], 5);
    assert_eq!(w1["metadata"]["generation"], 2);
    let scale: Value = serde_json::from_str(&w.kubectl_ok(&[
        "get",
        "--raw",
        "/apis/example.com/v1/namespaces/default/widgets/w1/scale",
    ]))
    .expect("scale json");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"], json!({"replicas": 5}));
    assert_eq!(
        scale["status"],
        json!({"replicas": 2, "selector": "app=w1"})
    );
    let err = w.kubectl_err(&["scale", "wd", "w1", "--replicas=11"]);
    assert!(
        err.contains("spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"),
        "{err}"
    );

    // patches: merge works, strategic merge is refused for custom resources
    w.kubectl_ok(&[
        "patch",
        "wd",
        "w2",
        "--type=merge",
        "-p",
        r#"{"spec":{"color":"green"}}"#,
    ]);
    assert_eq!(w.get_json(&["wd", "w2"])["spec"]["color"], "green");
    let err = w.kubectl_err(&["patch", "wd", "w2", "-p", r#"{"spec":{"color":"red"}}"#]);
    assert_eq!(
        err,
        "error: application/strategic-merge-patch+json is not supported by example.com/v1, Kind=Widget: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml\n"
    );
    // client-side apply computes a JSON merge patch for custom resources
    let applied = widget("w4", json!({"color": "red", "replicas": 3})).to_string();
    stdin_ok(&w, &["apply", "-f", "-"], &applied);
    let reapplied = widget("w4", json!({"color": "blue"})).to_string();
    assert_eq!(
        stdin_ok(&w, &["apply", "-f", "-"], &reapplied),
        "widget.example.com/w4 configured\n"
    );
    assert_eq!(
        w.get_json(&["wd", "w4"])["spec"],
        json!({"color": "blue", "replicas": 1, "size": "medium"})
    );

    // field selectors: name, namespace and the CRD's selectable fields
    assert_eq!(
        table(&w.kubectl_ok(&["get", "wd", "--field-selector", "spec.color=green"])),
        [
            "NAME REPLICAS COLOR READY AGE",
            "w2 1 green <age>",
            "w3 1 green <age>"
        ]
    );
    assert_eq!(
        table(&w.kubectl_ok(&[
            "get",
            "wd",
            "-A",
            "--field-selector",
            "metadata.name=w1,metadata.namespace=default"
        ]))[1],
        "default w1 5 red True <age>"
    );
    let err = w.kubectl_err(&["get", "wd", "--field-selector", "spec.size=medium"]);
    assert!(
        err.contains("field label not supported: spec.size"),
        "{err}"
    );

    // explain reads the published OpenAPI v3 schema
    let explain = lines(&w.kubectl_ok(&["explain", "widget.spec"]));
    for want in [
        "GROUP: example.com",
        "KIND: Widget",
        "VERSION: v1",
        "FIELD: spec <Object>",
        "The desired state of the widget.",
        "color <string> -required-",
        "enum: red, green, blue",
        "The widget's color.",
        "replicas <integer>",
        "How many copies.",
    ] {
        assert!(
            explain.iter().any(|l| l == want),
            "missing {want:?} in {explain:#?}"
        );
    }
    let explain = lines(&w.kubectl_ok(&["explain", "wd"]));
    assert!(
        explain
            .iter()
            .any(|l| l == "A Widget is a thing with replicas."),
        "{explain:#?}"
    );
    assert!(
        explain.iter().any(|l| l == "metadata <ObjectMeta>"),
        "{explain:#?}"
    );

    // watch streams custom resources at the requested version
    let events = w.kubectl_ok(&[
        "get",
        "--raw",
        "/apis/example.com/v1/namespaces/default/widgets?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dw1",
    ]);
    let first: Value =
        serde_json::from_str(events.lines().next().expect("an event")).expect("event");
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["apiVersion"], "example.com/v1");
    assert_eq!(first["object"]["spec"]["replicas"], 5);

    // namespaces: objects of a deleted namespace go
    w.kubectl_ok(&["create", "namespace", "scratch"]);
    stdin_ok(
        &w,
        &["create", "-n", "scratch", "-f", "-"],
        &widget("w9", json!({"color": "red"})).to_string(),
    );
    w.kubectl_ok(&["delete", "namespace", "scratch", "--timeout=30s"]);
    assert_eq!(
        w.kubectl_ok(&["get", "wd", "-A", "-o", "name"]),
        "widget.example.com/w1\nwidget.example.com/w2\nwidget.example.com/w3\nwidget.example.com/w4\n"
    );

    // deleting the CRD deletes its objects; one held by a finalizer keeps the CRD
    // terminating, and no new objects are accepted meanwhile
    w.kubectl_ok(&[
        "patch",
        "wd",
        "w1",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
    ]);
    assert_eq!(
        w.kubectl_ok(&["delete", "crd", "widgets.example.com", "--wait=false"]),
        "customresourcedefinition.apiextensions.k8s.io \"widgets.example.com\" deleted\n"
    );
    let terminating = || {
        let crd = w.get_json(&["crd", "widgets.example.com"]);
        crdlib_condition(&crd, "Terminating")
    };
    assert_eq!(terminating().as_deref(), Some("True"));
    assert_eq!(
        lines(&stdin_err(
            &w,
            &["create", "-f", "-"],
            &widget("w5", json!({"color": "red"})).to_string()
        )),
        [
            "Error from server (MethodNotAllowed): error when creating \"STDIN\": create not allowed while custom resource definition is terminating"
        ]
    );
    assert_eq!(
        w.kubectl_ok(&["get", "wd", "-o", "name"]),
        "widget.example.com/w1\n"
    );
    w.kubectl_ok(&[
        "patch",
        "wd",
        "w1",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    w.kubectl_ok(&[
        "wait",
        "--for=delete",
        "crd/widgets.example.com",
        "--timeout=30s",
    ]);
    let err = w.kubectl_err(&[
        "get",
        "--raw",
        "/apis/example.com/v1/namespaces/default/widgets",
    ]);
    assert!(err.contains("NotFound"), "{err}");
    establish(&w, &widgets_crd());
    let out = w.kubectl(&["get", "wd", "-A"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "No resources found\n");
}

/// The status of a CRD condition.
fn crdlib_condition(crd: &Value, ty: &str) -> Option<String> {
    crd["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == ty)?["status"]
        .as_str()
        .map(str::to_string)
}

fn gadgets_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.tools.example.org"},
        "spec": {
            "group": "tools.example.org",
            "scope": "Cluster",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gd"]},
            "versions": [
                {"name": "v1beta1", "served": true, "storage": false, "deprecated": true,
                 "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                 }}}},
                {"name": "v1", "served": true, "storage": true,
                 "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "properties": {"mode": {"type": "string", "default": "auto"}}},
                 }}}},
            ],
        },
    })
}

/// A cluster-scoped CRD with two versions (conversion `None`), served at both, kept across a
/// crash.
#[test]
fn cluster_scoped_two_versions_survive_restart() {
    let mut w = Warren::start();
    establish(&w, &gadgets_crd());
    assert_eq!(
        w.get_json(&["crd", "gadgets.tools.example.org"])["status"]["storedVersions"],
        json!(["v1"])
    );
    let versions = lines(&w.kubectl_ok(&["api-versions"]));
    for want in ["tools.example.org/v1", "tools.example.org/v1beta1"] {
        assert!(versions.iter().any(|v| v == want), "{versions:#?}");
    }
    // the preferred version is the highest priority one
    let group: Value =
        serde_json::from_str(&w.kubectl_ok(&["get", "--raw", "/apis/tools.example.org"]))
            .expect("group");
    assert_eq!(group["preferredVersion"]["version"], "v1");

    // written at v1beta1, stored at v1: pruned to the storage schema, defaulted
    let g1 = json!({
        "apiVersion": "tools.example.org/v1beta1", "kind": "Gadget",
        "metadata": {"name": "g1"}, "spec": {"mode": "fast", "extra": "dropped"},
    });
    let out = w.kubectl_stdin(&["create", "-f", "-"], Some(&g1.to_string()));
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "gadget.tools.example.org/g1 created\n"
    );
    // requests to a deprecated version carry kube's warning
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Warning: tools.example.org/v1beta1 Gadget is deprecated; use tools.example.org/v1 Gadget\n"
    );
    let at_v1 = w.get_json(&["gadgets.v1.tools.example.org", "g1"]);
    assert_eq!(at_v1["apiVersion"], "tools.example.org/v1");
    assert_eq!(at_v1["spec"], json!({"mode": "fast"}));
    assert!(at_v1["metadata"].get("namespace").is_none());
    let at_beta = w.get_json(&["gadgets.v1beta1.tools.example.org", "g1"]);
    assert_eq!(at_beta["apiVersion"], "tools.example.org/v1beta1");
    let raw: Value = serde_json::from_str(&w.kubectl_ok(&[
        "get",
        "--raw",
        "/apis/tools.example.org/v1beta1/gadgets",
    ]))
    .expect("list");
    assert_eq!(raw["kind"], "GadgetList");
    assert_eq!(raw["apiVersion"], "tools.example.org/v1beta1");
    assert_eq!(raw["items"][0]["apiVersion"], "tools.example.org/v1beta1");
    assert_eq!(
        table(&w.kubectl_ok(&["get", "gd"])),
        ["NAME AGE", "g1 <age>"]
    );

    w.restart_after_kill9();
    assert_eq!(
        w.kubectl_ok(&[
            "wait",
            "--for=condition=Established",
            "crd/gadgets.tools.example.org",
            "--timeout=5s"
        ]),
        "customresourcedefinition.apiextensions.k8s.io/gadgets.tools.example.org condition met\n"
    );
    assert_eq!(
        w.kubectl_ok(&["get", "gd", "-o", "name"]),
        "gadget.tools.example.org/g1\n"
    );
    let g2 = json!({"apiVersion": "tools.example.org/v1", "kind": "Gadget", "metadata": {"name": "g2"}, "spec": {}});
    stdin_ok(&w, &["create", "-f", "-"], &g2.to_string());
    assert_eq!(w.get_json(&["gd", "g2"])["spec"], json!({"mode": "auto"}));
}

/// Invalid CRDs are refused with kube's messages; conflicting names are not accepted.
#[test]
fn invalid_crds_are_rejected() {
    let w = Warren::start();
    let mut bad = widgets_crd();
    bad["metadata"]["name"] = json!("things.example.com");
    bad["spec"]["versions"][0]["storage"] = json!(false);
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("type");
    let err = stdin_err(&w, &["create", "-f", "-"], &bad.to_string());
    let err = lines(&err);
    assert_eq!(
        err[0],
        "The CustomResourceDefinition \"things.example.com\" is invalid:"
    );
    for want in [
        "* metadata.name: Invalid value: \"things.example.com\": must be spec.names.plural+\".\"+spec.group",
        "* spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
    ] {
        assert!(
            err.iter().any(|l| l == want),
            "missing {want:?} in {err:#?}"
        );
    }
    assert!(
        err.iter()
            .any(|l| l.starts_with("* spec.versions: Invalid value: ")
                && l.ends_with(": must have exactly one version marked as storage version")),
        "{err:#?}"
    );

    // a second CRD claiming the same kind in the group is not established
    establish(&w, &widgets_crd());
    let mut clash = widgets_crd();
    clash["metadata"]["name"] = json!("gizmos.example.com");
    clash["spec"]["names"] =
        json!({"plural": "gizmos", "singular": "gizmo", "kind": "Widget", "shortNames": ["wd"]});
    stdin_ok(&w, &["create", "-f", "-"], &clash.to_string());
    let names_accepted = || {
        let crd = w.get_json(&["crd", "gizmos.example.com"]);
        crd["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "NamesAccepted").cloned())
    };
    let mut cond = names_accepted();
    for _ in 0..50 {
        if cond.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        cond = names_accepted();
    }
    let cond = cond.expect("NamesAccepted condition");
    assert_eq!(cond["status"], "False");
    assert_eq!(cond["reason"], "ShortNamesConflict");
    assert_eq!(cond["message"], "\"wd\" is already in use");
    let err = w.kubectl_err(&["get", "--raw", "/apis/example.com/v1/gizmos"]);
    assert!(err.contains("NotFound"), "{err}");
}
