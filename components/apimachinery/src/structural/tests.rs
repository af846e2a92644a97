use serde_json::{Value, json};

use super::*;

fn schema(v: Value) -> Schema {
    Schema::from_json(&v)
}

/// Every error rendered as kube prints it (`field: message`).
fn errors(s: &Schema, obj: Value) -> Vec<String> {
    validate(s, &obj).iter().map(ToString::to_string).collect()
}

fn widget_schema() -> Schema {
    schema(json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["size"],
                "properties": {
                    "replicas": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 10},
                    "ratio": {"type": "number", "exclusiveMinimum": true, "minimum": 0, "exclusiveMaximum": true, "maximum": 1},
                    "size": {"type": "string", "enum": ["small", "large"]},
                    "name": {"type": "string", "minLength": 3, "maxLength": 5, "pattern": "^[a-z]+$"},
                    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2, "x-kubernetes-list-type": "set"},
                    "ports": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "items": {"type": "object", "required": ["name"], "properties": {
                            "name": {"type": "string"}, "port": {"x-kubernetes-int-or-string": true}
                        }},
                    },
                    "when": {"type": "string", "format": "date-time"},
                    "note": {"type": "string", "nullable": true},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
                }
            },
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
        }
    }))
}

#[test]
fn valid_object_has_no_errors() {
    let s = widget_schema();
    let ok = json!({
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {
            "replicas": 3, "ratio": 0.5, "size": "small", "name": "abcd", "tags": ["a", "b"],
            "ports": [{"name": "http", "port": 80}, {"name": "https", "port": "https"}],
            "when": "2024-01-02T03:04:05Z", "note": null, "labels": {"a": "b"},
            "extra": {"anything": [1, {"x": true}]},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}},
        },
        "status": {"ready": true},
    });
    assert_eq!(errors(&s, ok), Vec::<String>::new());
}

#[test]
fn type_errors_use_kube_wording() {
    let s = widget_schema();
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "replicas": "three"}})),
        [
            r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#
        ]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "name": 5}})),
        [
            r#"spec.name: Invalid value: "integer": spec.name in body must be of type string: "integer""#
        ]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "tags": {"a": 1}}})),
        [
            r#"spec.tags: Invalid value: "object": spec.tags in body must be of type array: "object""#
        ]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "name": null}})),
        [r#"spec.name: Invalid value: "null": spec.name in body must be of type string: "null""#]
    );
    // 2.0 is an integer for an integer field; nullable fields take null
    assert!(
        errors(
            &s,
            json!({"spec": {"size": "small", "replicas": 2.0, "note": null}})
        )
        .is_empty()
    );
    // int-or-string
    assert_eq!(
        errors(
            &s,
            json!({"spec": {"size": "small", "ports": [{"name": "a", "port": true}]}})
        ),
        [
            r#"spec.ports[0].port: Invalid value: "boolean": spec.ports[0].port in body must be of type integer,string: "boolean""#
        ]
    );
}

#[test]
fn required_enum_and_ranges() {
    let s = widget_schema();
    assert_eq!(
        errors(&s, json!({"spec": {}})),
        ["spec.size: Required value"]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "medium"}})),
        [r#"spec.size: Unsupported value: "medium": supported values: "small", "large""#]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "replicas": -1}})),
        [
            "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"
        ]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "replicas": 11}})),
        [
            "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"
        ]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "ratio": 0}})),
        ["spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "ratio": 1.0}})),
        ["spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1"]
    );
    assert_eq!(
        errors(
            &s,
            json!({"spec": {"size": "small", "replicas": 3000000000i64}})
        ),
        [
            r#"<nil>: Invalid value: "": Checked value must be of type integer with format int32 in spec.replicas"#,
            "spec.replicas: Invalid value: 3000000000: spec.replicas in body should be less than or equal to 10",
        ]
    );
}

#[test]
fn strings_items_and_formats() {
    let s = widget_schema();
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "name": "ab"}})),
        [r#"spec.name: Invalid value: "ab": spec.name in body should be at least 3 chars long"#]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "name": "abcdef"}})),
        ["spec.name: Too long: may not be more than 5 bytes"]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "name": "ABC"}})),
        [r#"spec.name: Invalid value: "ABC": spec.name in body should match '^[a-z]+$'"#]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "tags": []}})),
        ["spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items"]
    );
    assert_eq!(
        errors(
            &s,
            json!({"spec": {"size": "small", "tags": ["a", "b", "c"]}})
        ),
        ["spec.tags: Too many: 3: must have at most 2 items"]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "when": "yesterday"}})),
        [
            r#"spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday""#
        ]
    );
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "labels": {"a": 1}}})),
        [
            r#"spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer""#
        ]
    );
}

#[test]
fn list_sets_and_maps_reject_duplicates() {
    let s = widget_schema();
    assert_eq!(
        errors(&s, json!({"spec": {"size": "small", "tags": ["a", "a"]}})),
        [r#"spec.tags[1]: Duplicate value: "a""#]
    );
    assert_eq!(
        errors(
            &s,
            json!({"spec": {"size": "small", "ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}]}})
        ),
        [r#"spec.ports[1]: Duplicate value: map[string]interface {}{"name":"a"}"#]
    );
    assert_eq!(
        errors(
            &s,
            json!({"spec": {"size": "small", "ports": [{"port": 1}]}})
        ),
        ["spec.ports[0].name: Required value"]
    );
}

#[test]
fn embedded_resources_need_type_meta() {
    let s = widget_schema();
    assert_eq!(
        errors(
            &s,
            json!({"spec": {"size": "small", "template": {"metadata": {"name": "Bad_Name"}}}})
        ),
        [
            "spec.template.apiVersion: Required value: must not be empty",
            "spec.template.kind: Required value: must not be empty",
            r#"spec.template.metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
        ]
    );
}

#[test]
fn composition_keywords() {
    let s = schema(json!({
        "type": "object",
        "properties": {"v": {
            "x-kubernetes-int-or-string": true,
            "anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+%$"}],
        }, "n": {"type": "string", "not": {"enum": ["forbidden"]}}}
    }));
    assert!(errors(&s, json!({"v": 5})).is_empty());
    assert!(errors(&s, json!({"v": "50%"})).is_empty());
    let e = errors(&s, json!({"v": "abc"}));
    assert_eq!(
        e[0],
        r#"<nil>: Invalid value: "": "v" must validate at least one schema (anyOf)"#
    );
    assert_eq!(
        errors(&s, json!({"n": "forbidden"})),
        [r#"<nil>: Invalid value: "": "n" must not validate the schema (not)"#]
    );
}

#[test]
fn pruning_reports_unknown_paths() {
    let s = widget_schema();
    let mut obj = json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "bogus": 1},
        "spec": {
            "size": "small", "foo": 1, "tags": ["a"],
            "ports": [{"name": "a", "junk": true}],
            "labels": {"keep": "me"},
            "extra": {"free": {"form": 1}},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "nope": 1}, "spec": {"x": 1}},
        },
        "status": {"ready": true, "other": 2},
        "toplevel": 1,
    });
    let pruned = prune(Some(&s), &mut obj);
    assert_eq!(
        pruned,
        [
            "metadata.bogus",
            "spec.foo",
            "spec.ports[0].junk",
            "status.other",
            "toplevel",
            "spec.template.metadata.nope",
        ]
    );
    assert_eq!(obj["metadata"], json!({"name": "w"}));
    assert_eq!(obj["spec"]["extra"], json!({"free": {"form": 1}}));
    assert_eq!(obj["spec"]["template"]["spec"], json!({"x": 1}));
    assert_eq!(obj["spec"]["labels"], json!({"keep": "me"}));
    assert_eq!(obj["apiVersion"], "example.com/v1");
    assert!(obj.get("toplevel").is_none());
    // no schema: everything but type and object metadata goes
    let mut bare = json!({"apiVersion": "a/v1", "kind": "K", "metadata": {}, "spec": {"a": 1}});
    assert_eq!(prune(None, &mut bare), ["spec"]);
}

#[test]
fn defaults_fill_absent_and_null_fields() {
    let s = schema(json!({
        "type": "object",
        "properties": {"spec": {
            "type": "object",
            "default": {},
            "properties": {
                "replicas": {"type": "integer", "default": 1},
                "mode": {"type": "string", "default": "fast"},
                "nullable": {"type": "string", "nullable": true, "default": "d"},
                "items": {"type": "array", "items": {
                    "type": "object", "properties": {"weight": {"type": "integer", "default": 5}}
                }},
                "plain": {"type": "string"},
            }
        }}
    }));
    let mut obj = json!({"apiVersion": "a/v1"});
    apply_defaults(&s, &mut obj);
    assert_eq!(
        obj["spec"],
        json!({"replicas": 1, "mode": "fast", "nullable": "d"})
    );
    let mut obj = json!({"spec": {"replicas": 3, "mode": null, "nullable": null, "plain": null, "items": [{}, {"weight": 2}]}});
    prune_non_nullable_nulls(&s, &mut obj);
    apply_defaults(&s, &mut obj);
    assert_eq!(
        obj["spec"],
        json!({"replicas": 3, "mode": "fast", "nullable": null, "items": [{"weight": 5}, {"weight": 2}]})
    );
}

#[test]
fn structural_rules_of_crd_schemas() {
    let path = "spec.versions[0].schema.openAPIV3Schema";
    let render = |v: Value| -> Vec<String> {
        check_schema(&v, path)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert!(render(json!({"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}})).is_empty());
    assert_eq!(
        render(
            json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}})
        ),
        [
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields"
        ]
    );
    assert_eq!(
        render(json!({"type": "object", "properties": {"list": {"type": "array"}}})),
        [
            "spec.versions[0].schema.openAPIV3Schema.properties[list].items: Required value: must be specified"
        ]
    );
    assert_eq!(
        render(json!({"type": "string"})),
        [
            r#"spec.versions[0].schema.openAPIV3Schema.type: Invalid value: "string": must be object at the root"#
        ]
    );
    assert_eq!(
        render(
            json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}})
        ),
        [
            "spec.versions[0].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"
        ]
    );
    assert_eq!(
        render(
            json!({"type": "object", "properties": {"a": {"type": "object", "x-kubernetes-preserve-unknown-fields": false}}})
        ),
        [
            "spec.versions[0].schema.openAPIV3Schema.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"
        ]
    );
    assert_eq!(
        render(json!({"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}})),
        [
            r#"spec.versions[0].schema.openAPIV3Schema.properties[a].default: Invalid value: "string":  in body must be of type integer: "string""#
        ]
    );
    assert_eq!(
        render(
            json!({"type": "object", "properties": {"l": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object", "properties": {"k": {"type": "string"}}}}}})
        ),
        [
            "spec.versions[0].schema.openAPIV3Schema.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"
        ]
    );
}

#[test]
fn go_float_formatting() {
    assert_eq!(go_float(10.0), "10");
    assert_eq!(go_float(1.5), "1.5");
    assert_eq!(go_float(1e6), "1e+06");
    assert_eq!(go_float(123456.0), "123456");
    assert_eq!(go_float(0.00001), "1e-05");
}
