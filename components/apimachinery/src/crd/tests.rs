use chrono::TimeZone;
use serde_json::{Value, json};

use super::*;

fn crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com", "uid": "u1", "resourceVersion": "7"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList",
                      "shortNames": ["wd"], "categories": ["all"]},
            "versions": [
                {"name": "v1", "served": true, "storage": true,
                 "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}, "color": {"type": "string"}}},
                     "status": {"type": "object", "properties": {"replicas": {"type": "integer"}, "selector": {"type": "string"},
                        "conditions": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
                 }}},
                 "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}},
                 "selectableFields": [{"jsonPath": ".spec.color"}],
                 "additionalPrinterColumns": [
                     {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                     {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
                     {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                     {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                 ]},
                {"name": "v1beta1", "served": true, "storage": false,
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                {"name": "v2", "served": false, "storage": false,
                 "schema": {"openAPIV3Schema": {"type": "object"}}},
            ],
        },
    })
}

#[test]
fn versions_sort_like_kube() {
    let mut v = vec![
        "v1beta1", "foo", "v2", "v1", "v1alpha1", "v2beta2", "v10", "v1beta2", "bar",
    ];
    v.sort_by(|a, b| compare_versions(a, b));
    assert_eq!(
        v,
        [
            "v10", "v2", "v1", "v2beta2", "v1beta2", "v1beta1", "v1alpha1", "bar", "foo"
        ]
    );
}

#[test]
fn served_versions_become_resources() {
    let res = resources_from_crd(&crd());
    let versions: Vec<&str> = res.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["v1", "v1beta1"]);
    let v1 = &res[0];
    assert_eq!(v1.api_version(), "example.com/v1");
    assert_eq!(v1.definition, "com.example.v1.Widget");
    assert_eq!(v1.short_names, ["wd"]);
    assert!(v1.namespaced);
    assert_eq!(v1.subresources, [Subresource::Status, Subresource::Scale]);
    assert_eq!(
        v1.storage_key(Some("ns"), "w"),
        "/registry/example.com/widgets/ns/w"
    );
    let info = v1.custom.as_ref().expect("custom");
    assert_eq!(info.storage_version, "v1");
    assert_eq!(info.selectable_fields, ["spec.color"]);
    assert!(res[1].subresources.is_empty());
    assert!(info.deprecation_warning.is_none());
    let mut deprecated = crd();
    deprecated["spec"]["versions"][1]["deprecated"] = json!(true);
    let res = resources_from_crd(&deprecated);
    assert_eq!(
        res[1]
            .custom
            .as_ref()
            .and_then(|c| c.deprecation_warning.as_deref()),
        Some("example.com/v1beta1 Widget is deprecated; use example.com/v1 Widget")
    );
    deprecated["spec"]["versions"][1]["deprecationWarning"] = json!("use v1");
    let res = resources_from_crd(&deprecated);
    assert_eq!(
        res[1]
            .custom
            .as_ref()
            .and_then(|c| c.deprecation_warning.as_deref()),
        Some("use v1")
    );
    assert_eq!(
        definition_name("stable.example.com", "v1", "CronTab"),
        "com.example.stable.v1.CronTab"
    );
}

#[test]
fn printer_columns_table() {
    let res = resources_from_crd(&crd());
    let info = res[0].custom.as_ref().expect("custom");
    let now = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 10, 0)
        .single()
        .expect("time");
    let obj = json!({
        "metadata": {"name": "w1", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"replicas": 3, "color": "red"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    });
    let t = table(
        info,
        &[obj, json!({"metadata": {"name": "w2"}})],
        IncludeObject::None,
        now,
    );
    let names: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Name", "Replicas", "Color", "Ready", "Age"]);
    assert_eq!(t["columnDefinitions"][2]["priority"], 1);
    assert_eq!(
        t["columnDefinitions"][1]["description"],
        "Custom resource definition column (in JSONPath format): .spec.replicas"
    );
    assert_eq!(
        t["rows"][0]["cells"],
        json!(["w1", 3, "red", "True", "10m"])
    );
    assert_eq!(t["rows"][1]["cells"], json!(["w2", null, null, null, null]));
    // without columns: Name and Age
    let plain = table(
        res[1].custom.as_ref().expect("custom"),
        &[],
        IncludeObject::None,
        now,
    );
    assert_eq!(plain["columnDefinitions"][1]["name"], "Age");
}

#[test]
fn scale_reads_and_writes_paths() {
    let res = resources_from_crd(&crd());
    let paths = res[0]
        .custom
        .as_ref()
        .and_then(|c| c.scale.clone())
        .expect("scale");
    let mut obj = json!({"metadata": {"name": "w"}, "spec": {"replicas": 2}, "status": {"replicas": 1, "selector": "app=w"}});
    let s = scale_of(&paths, &obj);
    assert_eq!(s["spec"]["replicas"], 2);
    assert_eq!(s["status"], json!({"replicas": 1, "selector": "app=w"}));
    set_spec_replicas(&paths, &mut obj, 5);
    assert_eq!(obj["spec"]["replicas"], 5);
    let errs = validate_scale(&paths, &json!({"spec": {"replicas": -1}}));
    assert_eq!(
        errs[0].to_string(),
        ".spec.replicas: Invalid value: -1: should be a non-negative integer"
    );
}

#[test]
fn crd_validation_messages() {
    let mut ok = crd();
    validation::apply_defaults(&mut ok);
    assert_eq!(ok["spec"]["conversion"]["strategy"], "None");
    assert!(
        validation::validate_create(&ok).is_empty(),
        "{:?}",
        validation::validate_create(&ok)
    );
    let mut bad = crd();
    bad["metadata"]["name"] = json!("wrong.example.com");
    bad["spec"]["group"] = json!("example");
    bad["spec"]["versions"][1]["storage"] = json!(true);
    bad["spec"]["names"]["shortNames"] = json!(["Bad"]);
    bad["spec"]["versions"][0]["additionalPrinterColumns"][0]["type"] = json!("float");
    let msgs: Vec<String> = validation::validate_create(&bad)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(msgs.contains(&r#"metadata.name: Invalid value: "wrong.example.com": must be spec.names.plural+"."+spec.group"#.to_string()), "{msgs:?}");
    assert!(
        msgs.contains(
            &r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#
                .to_string()
        ),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("spec.versions: Invalid value: ")
                && m.ends_with("must have exactly one version marked as storage version")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m
            .starts_with(r#"spec.names.shortNames[0]: Invalid value: "Bad": a DNS-1035 label"#)),
        "{msgs:?}"
    );
    assert!(msgs.contains(&r#"spec.versions[0].additionalPrinterColumns[0].type: Unsupported value: "float": supported values: "number", "integer", "string", "boolean", "date""#.to_string()), "{msgs:?}");
    // updates: group and plural never change
    let mut moved = ok.clone();
    moved["spec"]["group"] = json!("other.com");
    let msgs: Vec<String> = validation::validate_update(&moved, &ok)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        msgs.contains(&r#"spec.group: Invalid value: "other.com": field is immutable"#.to_string()),
        "{msgs:?}"
    );
}

#[test]
fn openapi_definitions_of_a_custom_resource() {
    let res = resources_from_crd(&crd());
    let defs = openapi::definitions(&res[0], false);
    let w = &defs["com.example.v1.Widget"];
    assert_eq!(w["x-kubernetes-group-version-kind"][0]["kind"], "Widget");
    assert_eq!(
        w["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert_eq!(
        w["properties"]["spec"]["properties"]["replicas"]["type"],
        "integer"
    );
    let list = &defs["com.example.v1.WidgetList"];
    assert_eq!(
        list["x-kubernetes-group-version-kind"][0]["kind"],
        "WidgetList"
    );
}

/// kube-apiserver's v2 conversion: a root that keeps unknown fields is a bare object (kubectl's
/// v2 validation would reject anything else); preserve-unknown-fields items lose their schema.
#[test]
fn openapi_v2_definitions_drop_what_kubectl_would_reject() {
    let res = resources_from_crd(&crd());
    let v1beta1 = res
        .iter()
        .find(|r| r.version == "v1beta1")
        .expect("v1beta1");
    let defs = openapi::definitions(v1beta1, true);
    assert_eq!(
        defs["com.example.v1beta1.Widget"],
        json!({"type": "object", "x-kubernetes-group-version-kind": [{"group": "example.com", "kind": "Widget", "version": "v1beta1"}]})
    );
    let v1 = res.iter().find(|r| r.version == "v1").expect("v1");
    let w = &openapi::definitions(v1, true)["com.example.v1.Widget"];
    assert_eq!(
        w["properties"]["status"]["properties"]["conditions"],
        json!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
    );
    assert!(w["properties"]["metadata"].is_object());
    // v3 keeps the root schema as written
    let v3 = &openapi::definitions(v1beta1, false)["com.example.v1beta1.Widget"];
    assert_eq!(v3["x-kubernetes-preserve-unknown-fields"], true);
    assert!(v3["properties"]["metadata"].is_object());
}
