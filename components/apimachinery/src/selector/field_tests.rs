//! Field selector tests: parsing and escapes as in apimachinery's `fields/selector_test.go`,
//! and the per-kind field sets of kube-apiserver.

use serde_json::{Value, json};

use super::*;

fn parse(s: &str) -> FieldSelector {
    FieldSelector::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn parse_err(s: &str) -> String {
    FieldSelector::parse(s).unwrap_err().to_string()
}

fn terms(sel: &FieldSelector) -> Vec<(&str, FieldOp, &str)> {
    sel.requirements()
        .iter()
        .map(|r| (r.field.as_str(), r.op, r.value.as_str()))
        .collect()
}

#[test]
fn parses_terms_and_operators() {
    assert!(parse("").is_empty());
    assert!(parse(",,").is_empty());
    assert_eq!(
        terms(&parse("b==2,a=1,c!=3")),
        [
            ("a", FieldOp::Equals, "1"),
            ("b", FieldOp::Equals, "2"),
            ("c", FieldOp::NotEquals, "3")
        ]
    );
    assert_eq!(
        terms(&parse("spec.nodeName=")),
        [("spec.nodeName", FieldOp::Equals, "")]
    );
    assert_eq!(terms(&parse("x!=")), [("x", FieldOp::NotEquals, "")]);
    // the first operator splits the term; the key may hold anything before it
    assert_eq!(terms(&parse("a!b=c")), [("a!b", FieldOp::Equals, "c")]);
    // no whitespace trimming
    assert_eq!(terms(&parse(" a = b ")), [(" a ", FieldOp::Equals, " b ")]);
}

#[test]
fn escapes_as_in_fields_parse_selector() {
    let cases = [
        (r"x=a\,b", "a,b"),
        (r"x=a\=b", "a=b"),
        (r"x=a\\b", r"a\b"),
        (r"x=\\\,\=", r"\,="),
        (r"x=\\", r"\"),
    ];
    for (input, want) in cases {
        let sel = parse(input);
        assert_eq!(terms(&sel), [("x", FieldOp::Equals, want)], "{input:?}");
        assert_eq!(sel.to_string(), input, "round trip of {input:?}");
    }
    assert_eq!(
        terms(&parse(r"a=x\,y,b=z")),
        [("a", FieldOp::Equals, "x,y"), ("b", FieldOp::Equals, "z")]
    );
    assert_eq!(parse("b!=2,a=1").to_string(), "a=1,b!=2");
    assert_eq!("a=1".parse::<FieldSelector>().unwrap(), parse("a=1"));
}

#[test]
fn parse_errors_read_like_kubes() {
    assert_eq!(
        parse_err("x"),
        "invalid selector: 'x'; can't understand 'x'"
    );
    assert_eq!(
        parse_err("a=1,x"),
        "invalid selector: 'a=1,x'; can't understand 'x'"
    );
    assert_eq!(
        parse_err(r"x=a\b"),
        r"invalid field selector: invalid escape sequence: \b"
    );
    assert_eq!(
        parse_err(r"x=a\"),
        r"invalid field selector: invalid escape sequence: \"
    );
    assert_eq!(
        parse_err("x=a=b"),
        "invalid field selector: unescaped character in value: ="
    );
    assert_eq!(
        parse_err("x==a=b"),
        "invalid field selector: unescaped character in value: ="
    );
    for s in ["\u{1F600}", "=\u{1F600}\\", "\\", "!", "!=!="] {
        let _ = FieldSelector::parse(s);
    }
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "prod"},
        "spec": {"nodeName": "node-a", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                 "serviceAccountName": "default", "hostNetwork": true},
        "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.7"}], "nominatedNodeName": "node-b"}
    })
}

#[test]
fn pod_fields() {
    let p = pod();
    let value = |f: &str| field_value("", "Pod", &p, f);
    for (field, want) in [
        ("metadata.name", "web-1"),
        ("metadata.namespace", "prod"),
        ("spec.nodeName", "node-a"),
        ("spec.host", "node-a"),
        ("spec.restartPolicy", "Always"),
        ("spec.schedulerName", "default-scheduler"),
        ("spec.serviceAccountName", "default"),
        ("spec.hostNetwork", "true"),
        ("status.phase", "Running"),
        ("status.podIP", "10.0.0.7"),
        ("status.podIPs", ""),
        ("status.nominatedNodeName", "node-b"),
    ] {
        assert_eq!(value(field).as_deref(), Some(want), "{field}");
    }
    assert_eq!(value("spec.containers"), None);
    let bare = json!({"metadata": {"name": "x"}});
    assert_eq!(
        field_value("", "Pod", &bare, "spec.hostNetwork").as_deref(),
        Some("false")
    );
    assert_eq!(
        field_value("", "Pod", &bare, "spec.nodeName").as_deref(),
        Some("")
    );
    let legacy_ip = json!({"status": {"podIP": "10.1.1.1", "podIPs": [{"ip": "10.9.9.9"}]}});
    assert_eq!(
        field_value("", "Pod", &legacy_ip, "status.podIP").as_deref(),
        Some("10.1.1.1")
    );
}

#[test]
fn pod_selection() {
    let scheduled = pod();
    let pending =
        json!({"metadata": {"name": "p", "namespace": "prod"}, "status": {"phase": "Pending"}});
    let m = |s: &str, o: &Value| parse(s).matches("", "Pod", o).unwrap();
    // spec.nodeName= selects unscheduled pods
    assert!(!m("spec.nodeName=", &scheduled));
    assert!(m("spec.nodeName=", &pending));
    assert!(m("spec.nodeName!=", &scheduled));
    assert!(m("spec.nodeName=node-a,status.phase=Running", &scheduled));
    assert!(m("spec.host==node-a", &scheduled));
    assert!(!m("spec.nodeName=node-a,status.phase!=Running", &scheduled));
    assert!(m("status.phase!=Succeeded,status.phase!=Failed", &pending));
    assert!(m("spec.hostNetwork=false", &pending));
    assert!(m("metadata.namespace=prod,metadata.name=p", &pending));
    assert!(m("", &pending));
    assert_eq!(
        parse("spec.containers=x")
            .matches("", "Pod", &pending)
            .unwrap_err(),
        SelectorError::UnsupportedField("field label not supported: spec.containers".into())
    );
}

#[test]
fn per_kind_fields() {
    let cases: &[(&str, &str, Value, &str, &str)] = &[
        (
            "",
            "Node",
            json!({"spec": {"unschedulable": true}}),
            "spec.unschedulable",
            "true",
        ),
        ("", "Node", json!({}), "spec.unschedulable", "false"),
        (
            "",
            "Namespace",
            json!({"status": {"phase": "Terminating"}}),
            "status.phase",
            "Terminating",
        ),
        (
            "",
            "Secret",
            json!({"type": "kubernetes.io/tls"}),
            "type",
            "kubernetes.io/tls",
        ),
        (
            "",
            "ReplicationController",
            json!({"status": {"replicas": 3}}),
            "status.replicas",
            "3",
        ),
        (
            "",
            "ReplicationController",
            json!({}),
            "status.replicas",
            "0",
        ),
        (
            "apps",
            "ReplicaSet",
            json!({"status": {"replicas": 2}}),
            "status.replicas",
            "2",
        ),
        (
            "batch",
            "Job",
            json!({"status": {"succeeded": 1}}),
            "status.successful",
            "1",
        ),
        ("batch", "Job", json!({}), "status.successful", "0"),
        (
            "apps",
            "StatefulSet",
            json!({"status": {"succeeded": 1}}),
            "status.successful",
            "",
        ),
        (
            "",
            "Service",
            json!({"spec": {"clusterIP": "None", "type": "ClusterIP"}}),
            "spec.clusterIP",
            "None",
        ),
        (
            "",
            "Service",
            json!({"spec": {"type": "NodePort"}}),
            "spec.type",
            "NodePort",
        ),
        (
            "certificates.k8s.io",
            "CertificateSigningRequest",
            json!({"spec": {"signerName": "example.com/x"}}),
            "spec.signerName",
            "example.com/x",
        ),
        (
            "resource.k8s.io",
            "ResourceSlice",
            json!({"spec": {"driver": "gpu.example.com", "nodeName": "n1"}}),
            "spec.driver",
            "gpu.example.com",
        ),
        (
            "",
            "ConfigMap",
            json!({"metadata": {"name": "cm", "namespace": "ns"}}),
            "metadata.namespace",
            "ns",
        ),
    ];
    for (group, kind, obj, field, want) in cases {
        assert_eq!(
            field_value(group, kind, obj, field).as_deref(),
            Some(*want),
            "{group}/{kind} {field}"
        );
    }
}

#[test]
fn event_fields() {
    let core = json!({
        "metadata": {"name": "e1", "namespace": "ns"},
        "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "web", "uid": "u-1",
                           "apiVersion": "v1", "resourceVersion": "42", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "type": "Warning", "reportingComponent": "kubelet", "source": {"component": ""}
    });
    for (field, want) in [
        ("involvedObject.kind", "Pod"),
        ("involvedObject.namespace", "ns"),
        ("involvedObject.name", "web"),
        ("involvedObject.uid", "u-1"),
        ("involvedObject.apiVersion", "v1"),
        ("involvedObject.resourceVersion", "42"),
        ("involvedObject.fieldPath", "spec.containers{app}"),
        ("reason", "BackOff"),
        ("type", "Warning"),
        ("reportingComponent", "kubelet"),
        // source falls back to the reporting controller
        ("source", "kubelet"),
    ] {
        assert_eq!(
            field_value("", "Event", &core, field).as_deref(),
            Some(want),
            "{field}"
        );
    }
    let with_source =
        json!({"source": {"component": "scheduler"}, "reportingComponent": "kubelet"});
    assert_eq!(
        field_value("", "Event", &with_source, "source").as_deref(),
        Some("scheduler")
    );
    assert!(
        parse("involvedObject.kind=Pod,type=Warning")
            .matches("", "Event", &core)
            .unwrap()
    );

    let new = json!({"regarding": {"kind": "Node", "name": "n1"}, "reportingController": "kubelet", "type": "Normal"});
    assert!(
        parse("regarding.kind=Node,reportingController=kubelet")
            .matches("events.k8s.io", "Event", &new)
            .unwrap()
    );
    assert_eq!(
        parse("involvedObject.kind=Node")
            .validate("events.k8s.io", "Event")
            .unwrap_err()
            .to_string(),
        "field label not supported: involvedObject.kind"
    );
    assert_eq!(
        parse("regarding.kind=Node")
            .validate("", "Event")
            .unwrap_err()
            .to_string(),
        "field label not supported: regarding.kind"
    );
}

#[test]
fn unsupported_field_messages_match_each_conversion() {
    let err = |group: &str, kind: &str, sel: &str| {
        parse(sel).validate(group, kind).unwrap_err().to_string()
    };
    assert_eq!(
        err("", "Pod", "spec.foo=x"),
        "field label not supported: spec.foo"
    );
    assert_eq!(
        err("", "Node", "metadata.namespace=x"),
        "field label not supported: metadata.namespace"
    );
    assert_eq!(
        err("", "ConfigMap", "data.x=y"),
        r#""data.x" is not a known field selector: only "metadata.name", "metadata.namespace""#
    );
    assert_eq!(
        err("apps", "StatefulSet", "spec.replicas=1"),
        "field label not supported for appsv1.StatefulSet: spec.replicas"
    );
    assert_eq!(
        err("resource.k8s.io", "ResourceSlice", "spec.pool=x"),
        r#""spec.pool" is not a known field selector: only "metadata.name", "spec.nodeName", "spec.driver""#
    );
    assert!(
        parse("metadata.name=a,metadata.namespace=b")
            .validate("apps", "Deployment")
            .is_ok()
    );
    assert!(parse("").validate("", "Anything").is_ok());
}

#[test]
fn supported_fields_lists() {
    assert_eq!(
        supported_fields("apps", "Deployment"),
        ["metadata.name", "metadata.namespace"]
    );
    assert!(supported_fields("", "Pod").contains(&"spec.nodeName"));
    assert!(!supported_fields("", "Pod").contains(&"spec.host"));
    assert_eq!(
        supported_fields("", "Node"),
        ["metadata.name", "spec.unschedulable"]
    );
    assert!(supported_fields("events.k8s.io", "Event").contains(&"regarding.name"));
    for (group, kind) in [
        ("", "Pod"),
        ("", "Event"),
        ("", "Secret"),
        ("batch", "Job"),
        ("", "Namespace"),
    ] {
        for field in supported_fields(group, kind) {
            assert!(
                field_value(group, kind, &json!({}), field).is_some(),
                "{kind} {field}"
            );
        }
    }
}

#[test]
fn custom_resources() {
    let cr = json!({"metadata": {"name": "w", "namespace": "ns"}, "spec": {"color": "red", "size": 3, "on": true}});
    let sel = parse("spec.color=red,spec.size=3,spec.on=true");
    assert!(
        sel.validate_custom(true, &["spec.color", "spec.size", "spec.on"])
            .is_ok()
    );
    assert!(sel.matches_custom(&cr));
    assert!(!parse("spec.color=blue").matches_custom(&cr));
    assert!(parse("spec.missing=").matches_custom(&cr));
    assert_eq!(
        sel.validate_custom(true, &["spec.color"])
            .unwrap_err()
            .to_string(),
        "field label not supported: spec.on"
    );
    assert!(
        parse("metadata.namespace=ns")
            .validate_custom(true, &[])
            .is_ok()
    );
    assert_eq!(
        parse("metadata.namespace=ns")
            .validate_custom(false, &[])
            .unwrap_err()
            .to_string(),
        "field label not supported: metadata.namespace"
    );
}

#[test]
fn exact_match() {
    let sel = parse("metadata.name=a,spec.nodeName!=b");
    assert_eq!(sel.requires_exact_match("metadata.name"), Some("a"));
    assert_eq!(sel.requires_exact_match("spec.nodeName"), None);
    assert_eq!(
        FieldSelector::everything().requires_exact_match("metadata.name"),
        None
    );
}

#[test]
fn malformed_objects_never_panic() {
    for obj in [
        json!(null),
        json!([]),
        json!("s"),
        json!({"spec": "x", "status": [1, 2]}),
        json!({"status": {"podIPs": "x"}}),
    ] {
        for (group, kind) in [("", "Pod"), ("", "Event"), ("", "Node"), ("batch", "Job")] {
            for field in supported_fields(group, kind) {
                let _ = field_value(group, kind, &obj, field);
            }
        }
        assert!(parse("metadata.name=").matches("", "Pod", &obj).unwrap());
    }
}
