//! Validation checked against kube-apiserver's exact wording for the common mistakes, strict
//! decoding on nested paths, and robustness against arbitrary JSON.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::defaults::apply_defaults;
use crate::error::ApiError;

fn namespaced(group: &str, kind: &str) -> bool {
    crate::registry::builtin_resources()
        .iter()
        .find(|r| r.group == group && r.kind == kind)
        .is_none_or(|r| r.namespaced)
}

/// Defaults then validates a new object, rendered as kube renders each cause.
fn create(group: &str, kind: &str, mut obj: Value) -> Vec<String> {
    apply_defaults(group, kind, &mut obj);
    validate_create(group, kind, &obj, namespaced(group, kind))
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn update(group: &str, kind: &str, mut obj: Value, mut old: Value) -> Vec<String> {
    apply_defaults(group, kind, &mut obj);
    apply_defaults(group, kind, &mut old);
    validate_update(group, kind, &obj, &old, namespaced(group, kind))
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn pod(name: &str, containers: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": containers}
    })
}

fn deployment(selector: Value, labels: Value, containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}}
        }
    })
}

fn nginx() -> Value {
    json!([{"name": "nginx", "image": "nginx:1.27"}])
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

#[test]
fn valid_objects_have_no_errors() {
    let cases = [
        ("", "Pod", pod("web-0", nginx())),
        (
            "apps",
            "Deployment",
            deployment(json!({"app": "web"}), json!({"app": "web"}), nginx()),
        ),
        (
            "",
            "Service",
            json!({"metadata": {"name": "web", "namespace": "default"},
                   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}),
        ),
        (
            "batch",
            "Job",
            json!({"metadata": {"name": "pi", "namespace": "default", "uid": "u-1"},
                   "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": nginx()}}}}),
        ),
        (
            "batch",
            "CronJob",
            json!({"metadata": {"name": "tick", "namespace": "default"},
                   "spec": {"schedule": "@hourly", "timeZone": "Europe/Berlin",
                            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": nginx()}}}}}}),
        ),
        (
            "",
            "Namespace",
            json!({"metadata": {"name": "team-a", "labels": {"example.com/tier": "gold"}}}),
        ),
        (
            "",
            "ConfigMap",
            json!({"metadata": {"name": "cfg", "namespace": "default"}, "data": {"app.properties": "x=1"}}),
        ),
        (
            "",
            "Secret",
            json!({"metadata": {"name": "s", "namespace": "default"}, "stringData": {"password": "hunter2"}}),
        ),
        (
            "rbac.authorization.k8s.io",
            "ClusterRoleBinding",
            json!({"metadata": {"name": "system:admins"},
                   "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"kind": "Group", "name": "admins"}]}),
        ),
    ];
    for (group, kind, obj) in cases {
        assert_eq!(create(group, kind, obj), Vec::<String>::new(), "{kind}");
    }
}

#[test]
fn bad_names_use_kube_wording() {
    assert_eq!(
        create("", "Pod", pod("My_Pod", nginx())),
        [format!(
            "metadata.name: Invalid value: \"My_Pod\": {SUBDOMAIN_MSG}"
        )]
    );
    let svc = json!({"metadata": {"name": "1web", "namespace": "default"},
                     "spec": {"ports": [{"port": 80}]}});
    assert_eq!(
        create("", "Service", svc),
        [
            "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
    assert_eq!(
        create("", "Namespace", json!({"metadata": {"name": "Team.A"}})),
        [
            "metadata.name: Invalid value: \"Team.A\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
    let unnamed = json!({"metadata": {"namespace": "default"}, "data": {}});
    assert_eq!(
        create("", "ConfigMap", unnamed),
        ["metadata.name: Required value: name or generateName is required"]
    );
    let generated = json!({"metadata": {"generateName": "web-", "namespace": "default"}});
    assert_eq!(create("", "ConfigMap", generated), Vec::<String>::new());
    let rbac = json!({"metadata": {"name": "a/b"}, "rules": []});
    assert_eq!(
        create("rbac.authorization.k8s.io", "ClusterRole", rbac),
        ["metadata.name: Invalid value: \"a/b\": may not contain '/'"]
    );
    let cluster_scoped = json!({"metadata": {"name": "n", "namespace": "default"}});
    assert_eq!(
        create("", "Namespace", cluster_scoped),
        ["metadata.namespace: Forbidden: not allowed on this type"]
    );
}

#[test]
fn full_invalid_status_message() {
    let mut obj = pod("web", json!([{"name": "web"}]));
    apply_defaults("", "Pod", &mut obj);
    let errs = validate_create("", "Pod", &obj, true);
    let e = ApiError::invalid("", "Pod", "web", &errs);
    assert_eq!(
        e.message,
        "Pod \"web\" is invalid: spec.containers[0].image: Required value"
    );
    assert_eq!(
        e.to_status()["details"]["causes"][0]["reason"],
        "FieldValueRequired"
    );
}

#[test]
fn missing_image_in_deployment() {
    let d = deployment(
        json!({"app": "web"}),
        json!({"app": "web"}),
        json!([{"name": "web"}]),
    );
    assert_eq!(
        create("apps", "Deployment", d),
        ["spec.template.spec.containers[0].image: Required value"]
    );
}

#[test]
fn selector_must_match_template_labels() {
    let d = deployment(json!({"app": "web"}), json!({"app": "x"}), nginx());
    assert_eq!(
        create("apps", "Deployment", d),
        [
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"
        ]
    );
    let mut no_selector = deployment(json!({}), json!({"app": "x"}), nginx());
    no_selector["spec"]
        .as_object_mut()
        .map(|s| s.remove("selector"));
    assert_eq!(
        create("apps", "Deployment", no_selector),
        [
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`",
        ]
    );
    let empty = deployment(json!({}), json!({"app": "x"}), nginx());
    assert_eq!(
        create("apps", "Deployment", empty),
        [
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
        ]
    );
}

#[test]
fn ports_out_of_range() {
    let p = pod(
        "web",
        json!([{"name": "web", "image": "nginx", "ports": [{"containerPort": 70000}]}]),
    );
    assert_eq!(
        create("", "Pod", p),
        [
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"
        ]
    );
    let svc = json!({"metadata": {"name": "web", "namespace": "default"},
                     "spec": {"type": "NodePort", "ports": [{"port": 0, "nodePort": 80}]}});
    assert_eq!(
        create("", "Service", svc),
        [
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
        ]
    );
    let no_ports = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {}});
    assert_eq!(
        create("", "Service", no_ports),
        ["spec.ports: Required value"]
    );
    let no_template = json!({"metadata": {"name": "w", "namespace": "default"},
                             "spec": {"selector": {"matchLabels": {"app": "w"}}}});
    assert_eq!(
        create("apps", "ReplicaSet", no_template),
        [
            "spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`",
            "spec.template.spec.containers: Required value",
        ]
    );
    let headless =
        json!({"metadata": {"name": "db", "namespace": "default"}, "spec": {"clusterIP": "None"}});
    assert_eq!(create("", "Service", headless), Vec::<String>::new());
    let dup = json!({"metadata": {"name": "web", "namespace": "default"},
                     "spec": {"type": "Foo", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]}});
    assert_eq!(
        create("", "Service", dup),
        [
            "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
        ]
    );
}

#[test]
fn cron_schedules() {
    let cj = |schedule: &str| {
        json!({"metadata": {"name": "tick", "namespace": "default"},
               "spec": {"schedule": schedule,
                        "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": nginx()}}}}}})
    };
    assert_eq!(
        create("batch", "CronJob", cj("every minute")),
        [
            "spec.schedule: Invalid value: \"every minute\": expected exactly 5 fields, found 2: [every minute]"
        ]
    );
    assert_eq!(
        create("batch", "CronJob", cj("61 * * * *")),
        ["spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"]
    );
    assert_eq!(
        create("batch", "CronJob", cj("TZ=UTC 0 * * * *")),
        [
            "spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
        ]
    );
    let mut long = cj("@daily");
    long["metadata"]["name"] = json!("a".repeat(53));
    assert_eq!(
        create("batch", "CronJob", long),
        [format!(
            "metadata.name: Invalid value: \"{}\": must be no more than 52 characters",
            "a".repeat(53)
        )]
    );
    let mut tz = cj("@daily");
    tz["spec"]["timeZone"] = json!("Local");
    assert_eq!(
        create("batch", "CronJob", tz),
        [
            "spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
        ]
    );
}

#[test]
fn invalid_label_value_and_key() {
    let mut p = pod("web", nginx());
    p["metadata"]["labels"] = json!({"app": "bad value!", "-bad": "x"});
    assert_eq!(
        create("", "Pod", p),
        [
            "metadata.labels: Invalid value: \"-bad\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "metadata.labels: Invalid value: \"bad value!\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ]
    );
}

#[test]
fn job_restart_policy_and_counts() {
    let job = json!({"metadata": {"name": "pi", "namespace": "default", "uid": "u-1"},
                     "spec": {"completions": -1, "template": {"spec": {"containers": nginx()}}}});
    assert_eq!(
        create("batch", "Job", job),
        [
            "spec.completions: Invalid value: -1: must be greater than or equal to 0",
            "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
        ]
    );
}

#[test]
fn pod_spec_mistakes() {
    let p = pod(
        "web",
        json!([
            {"name": "app", "image": "nginx", "volumeMounts": [{"name": "data", "mountPath": "/data"}],
             "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
             "env": [{"name": "A=B", "value": "x"}]},
            {"name": "app", "image": "nginx", "imagePullPolicy": "Sometimes"}
        ]),
    );
    let mut p = p;
    p["spec"]["restartPolicy"] = json!("Sometimes");
    assert_eq!(
        create("", "Pod", p),
        [
            "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
            "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
            "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
            "spec.containers[1].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
            "spec.containers[1].name: Duplicate value: \"app\"",
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        ]
    );
    let mut vols = pod("web", nginx());
    vols["spec"]["volumes"] = json!([
        {"name": "a", "configMap": {"name": "c"}, "secret": {"secretName": "s"}},
        {"name": "b", "secret": {"defaultMode": 1000}},
    ]);
    assert_eq!(
        create("", "Pod", vols),
        [
            "spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type",
            "spec.volumes[1].secret.secretName: Required value",
            "spec.volumes[1].secret.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
        ]
    );
}

#[test]
fn config_and_secret_rules() {
    let cm = json!({"metadata": {"name": "c", "namespace": "default"}, "data": {"bad key": "v"}});
    assert_eq!(
        create("", "ConfigMap", cm),
        [
            "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        ]
    );
    let big = json!({"metadata": {"name": "c", "namespace": "default"},
                     "data": {"a": "x".repeat(MAX + 1)}});
    const MAX: usize = 1024 * 1024;
    assert_eq!(
        create("", "ConfigMap", big),
        ["Too long: may not be more than 1048576 bytes"]
    );
    let tls = json!({"metadata": {"name": "t", "namespace": "default"}, "type": "kubernetes.io/tls",
                     "data": {"tls.crt": "Y2VydA=="}});
    assert_eq!(
        create("", "Secret", tls.clone()),
        ["data[tls.key]: Required value"]
    );
    let opaque = json!({"metadata": {"name": "t", "namespace": "default"}, "data": {"tls.crt": "Y2VydA=="}, "immutable": true});
    let mut changed = opaque.clone();
    changed["type"] = json!("kubernetes.io/basic-auth");
    changed["data"] = json!({"username": "dQ=="});
    changed["immutable"] = json!(false);
    assert_eq!(
        update("", "Secret", changed, opaque),
        [
            "type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable",
            "immutable: Forbidden: field is immutable when `immutable` is set",
            "data: Forbidden: field is immutable when `immutable` is set",
        ]
    );
}

#[test]
fn update_rules() {
    let old = deployment(
        json!({"app": "web"}),
        json!({"app": "web", "tier": "y"}),
        nginx(),
    );
    let mut new = deployment(
        json!({"app": "web", "tier": "y"}),
        json!({"app": "web", "tier": "y"}),
        nginx(),
    );
    new["metadata"]["name"] = json!("web2");
    assert_eq!(
        update("apps", "Deployment", new, old),
        [
            "metadata.name: Invalid value: \"web2\": field is immutable",
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"tier\":\"y\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        ]
    );
    let svc = |ip: &str| {
        json!({"metadata": {"name": "web", "namespace": "default"},
               "spec": {"clusterIP": ip, "ports": [{"port": 80}]}})
    };
    assert_eq!(
        update("", "Service", svc("10.0.0.2"), svc("10.0.0.1")),
        ["spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.2\"}: may not change once set"]
    );
    let mut p = pod("web", nginx());
    let old_pod = p.clone();
    p["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    assert_eq!(
        update("", "Pod", p.clone(), old_pod.clone()),
        Vec::<String>::new()
    );
    p["spec"]["containers"][0]["name"] = json!("other");
    assert_eq!(update("", "Pod", p, old_pod).len(), 1);
    let binding = |role: &str| {
        json!({"metadata": {"name": "b", "namespace": "default"},
               "roleRef": {"kind": "Role", "name": role}, "subjects": [{"kind": "ServiceAccount", "name": "default"}]})
    };
    assert_eq!(
        update(
            "rbac.authorization.k8s.io",
            "RoleBinding",
            binding("edit"),
            binding("view")
        ),
        [
            "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"edit\"}: cannot change roleRef"
        ]
    );
}

#[test]
fn other_groups() {
    let ing = json!({"metadata": {"name": "i", "namespace": "default"},
                     "spec": {"rules": [{"host": "10.0.0.1", "http": {"paths": [{"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}});
    assert_eq!(
        create("networking.k8s.io", "Ingress", ing),
        [
            "spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address",
            "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
        ]
    );
    let pdb = json!({"metadata": {"name": "p", "namespace": "default"},
                     "spec": {"minAvailable": 1, "maxUnavailable": "150%"}});
    let errs = create("policy", "PodDisruptionBudget", pdb);
    assert!(
        errs[0].ends_with(": minAvailable and maxUnavailable cannot be both set"),
        "{errs:?}"
    );
    assert_eq!(
        errs[1],
        "spec.maxUnavailable: Invalid value: \"150%\": must not be greater than 100%"
    );
    let pc = json!({"metadata": {"name": "high"}, "value": 2_000_000_000});
    assert_eq!(
        create("scheduling.k8s.io", "PriorityClass", pc),
        ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]
    );
    let role = json!({"metadata": {"name": "r", "namespace": "default"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]});
    assert_eq!(
        create("rbac.authorization.k8s.io", "Role", role),
        ["rules[0].verbs: Required value: verbs must contain at least one value"]
    );
    let slice = json!({"metadata": {"name": "s", "namespace": "default"}, "endpoints": [{"addresses": ["10.0.0.1"]}]});
    assert_eq!(
        create("discovery.k8s.io", "EndpointSlice", slice),
        ["addressType: Required value"]
    );
    let lease = json!({"metadata": {"name": "l", "namespace": "default"}, "spec": {"leaseDurationSeconds": 0}});
    assert_eq!(
        create("coordination.k8s.io", "Lease", lease),
        ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    );
    let np = json!({"metadata": {"name": "n", "namespace": "default"},
                    "spec": {"podSelector": {}, "ingress": [{"from": [{}], "ports": [{"port": 70000}]}]}});
    assert_eq!(
        create("networking.k8s.io", "NetworkPolicy", np),
        [
            "spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.ingress[0].from[0]: Required value: must specify a peer",
        ]
    );
}

#[test]
fn strict_unknown_fields_on_nested_paths() {
    let d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"any-key": "ok"}, "annotations": {"x/y": "ok"}, "nme": "typo"},
        "spec": {
            "replicass": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "a", "image": "nginx"},
                    {"name": "b", "imagee": "nginx", "resources": {"limits": {"nvidia.com/gpu": 1}},
                     "ports": [{"containerPort": 80, "protocl": "TCP"}]}
                ]}
            },
            "bogus": {"deeper": {"unknown": true}}
        },
        "status": {"replicas": 1, "surprise": 1}
    });
    assert_eq!(
        unknown_fields("io.k8s.api.apps.v1.Deployment", &d),
        [
            "unknown field \"metadata.nme\"",
            "unknown field \"spec.bogus\"",
            "unknown field \"spec.replicass\"",
            "unknown field \"spec.template.spec.containers[1].imagee\"",
            "unknown field \"spec.template.spec.containers[1].ports[0].protocl\"",
            "unknown field \"status.surprise\"",
        ]
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:anything": {}}}}]},
        "data": {"whatever": "x"}, "binaryData": {"b": "eA=="}});
    assert_eq!(
        unknown_fields("io.k8s.api.core.v1.ConfigMap", &cm),
        Vec::<String>::new()
    );
    assert_eq!(
        unknown_fields("io.example.v1.Nothing", &cm),
        Vec::<String>::new()
    );
}

fn type_messages(def: &str, obj: &Value) -> Vec<(String, String)> {
    type_errors(def, obj)
        .into_iter()
        .map(|e| (e.field, e.detail))
        .collect()
}

#[test]
fn type_mismatches_read_like_go_decoding() {
    let d = json!({
        "metadata": {"labels": {"n": 1}, "creationTimestamp": "yesterday"},
        "spec": {
            "replicas": "3",
            "strategy": {"rollingUpdate": {"maxSurge": 1.5, "maxUnavailable": "25%"}},
            "template": {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": "80"}],
                "resources": {"limits": {"cpu": "lots", "memory": "1Gi"}, "requests": {"cpu": 2}}}]}}
        }
    });
    assert_eq!(
        type_messages("io.k8s.api.apps.v1.Deployment", &d),
        [
            (
                "metadata.creationTimestamp".to_string(),
                "parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as \"2006\"".to_string()
            ),
            (
                "metadata.labels[n]".into(),
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string".into()
            ),
            (
                "spec.replicas".into(),
                "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32".into()
            ),
            (
                "spec.strategy.rollingUpdate.maxSurge".into(),
                "json: cannot unmarshal number 1.5 into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type int32".into()
            ),
            (
                "spec.template.spec.containers[0].ports[0].containerPort".into(),
                "json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32".into()
            ),
            (
                "spec.template.spec.containers[0].resources.limits[cpu]".into(),
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".into()
            ),
        ]
    );
    let p = json!({"spec": {"containers": "nginx"}});
    assert_eq!(
        type_messages("io.k8s.api.core.v1.Pod", &p),
        [(
            "spec.containers".to_string(),
            "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container".to_string()
        )]
    );
    let wrong_spec = json!({"spec": []});
    assert_eq!(
        type_messages("io.k8s.api.apps.v1.Deployment", &wrong_spec)[0].1,
        "json: cannot unmarshal array into Go struct field Deployment.spec of type v1.DeploymentSpec"
    );
    assert_eq!(
        type_messages("io.k8s.api.core.v1.Pod", &json!([]))[0].1,
        "json: cannot unmarshal array into Go value of type v1.Pod"
    );
    let secret = json!({"data": {"ok": "aGk=", "bad": "a!!="}});
    assert_eq!(
        type_messages("io.k8s.api.core.v1.Secret", &secret),
        [(
            "data[bad]".to_string(),
            "illegal base64 data at input byte 1".to_string()
        )]
    );
    let e = decode_error(
        "Deployment",
        "v1",
        &type_errors("io.k8s.api.apps.v1.Deployment", &wrong_spec),
    )
    .expect("an error");
    assert_eq!(e.code(), 400);
    assert_eq!(
        e.message,
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal array into Go struct field Deployment.spec of type v1.DeploymentSpec"
    );
    let fine = json!({"spec": {"ports": [{"port": 80, "targetPort": "http", "nodePort": null}]}});
    assert_eq!(
        type_messages("io.k8s.api.core.v1.Service", &fine),
        Vec::<(String, String)>::new()
    );
}

/// Every built-in kind with its definition name.
fn kinds() -> Vec<(&'static str, &'static str, &'static str)> {
    crate::registry::builtin_resources()
        .iter()
        .map(|r| (r.group.as_str(), r.kind.as_str(), r.definition.as_str()))
        .collect()
}

/// Arbitrary JSON leaning on the field names the validators look at, so deep paths get hit.
fn arb_json() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(vec![
        "metadata",
        "name",
        "namespace",
        "labels",
        "spec",
        "template",
        "containers",
        "image",
        "ports",
        "port",
        "containerPort",
        "selector",
        "matchLabels",
        "matchExpressions",
        "volumes",
        "secret",
        "configMap",
        "env",
        "valueFrom",
        "fieldRef",
        "resources",
        "limits",
        "requests",
        "cpu",
        "replicas",
        "strategy",
        "rollingUpdate",
        "maxSurge",
        "type",
        "clusterIP",
        "schedule",
        "jobTemplate",
        "rules",
        "http",
        "paths",
        "data",
        "stringData",
        "status",
        "updateStrategy",
        "subjects",
        "roleRef",
        "uid",
        "livenessProbe",
        "httpGet",
        "tolerations",
        "volumeClaimTemplates",
        "endpoints",
        "addresses",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-zA-Z0-9 ./:@%*=_-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(names.clone(), inner, 0..6).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(obj in arb_json(), old in arb_json()) {
        for (group, kind, def) in kinds() {
            let _ = unknown_fields(def, &obj);
            let _ = type_errors(def, &obj);
            let mut defaulted = obj.clone();
            apply_defaults(group, kind, &mut defaulted);
            let _ = validate_create(group, kind, &obj, true);
            let _ = validate_create(group, kind, &defaulted, false);
            let _ = validate_update(group, kind, &defaulted, &old, true);
        }
    }

    #[test]
    fn names_and_schedules_never_panic(s in "\\PC{0,40}") {
        let _ = cron::parse_standard(&s);
        let _ = quantity::parse(&s);
        for rule in [NameRule::Subdomain, NameRule::Label, NameRule::Dns1035, NameRule::PathSegment] {
            let _ = rule.check(&s, true);
            let _ = rule.check(&s, false);
        }
        let _ = names::qualified_name(&s);
        let _ = names::port_name(&s);
    }
}

/// kube validates only the labels and annotations of a StatefulSet's pod template: mounts may
/// name volumeClaimTemplates, which are no pod volumes.
#[test]
fn statefulset_template_mounts_may_name_claim_templates() {
    let sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
                {"name": "c", "image": "postgres", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
            ]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    });
    assert_eq!(
        create("apps", "StatefulSet", sts.clone()),
        Vec::<String>::new()
    );
    let mut bad = sts;
    bad["spec"]["template"]["metadata"]["labels"]["bad key!"] = json!("x");
    assert_eq!(create("apps", "StatefulSet", bad).len(), 1);
}
