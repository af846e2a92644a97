//! Table tests: `duration.HumanDuration` boundaries and, for every printed kind, the exact
//! cells kube-apiserver 1.33 produces for representative objects.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use super::*;

fn now() -> DateTime<Utc> {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

/// The RFC 3339 time `secs` seconds before [`now`].
fn ago(secs: i64) -> String {
    (now() - TimeDelta::seconds(secs)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

const MIN: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86400;

fn meta(name: &str, age: i64) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": ago(age)})
}

fn cells(group: &str, kind: &str, object: Value) -> Value {
    let cells = cells_for(group, kind, &object, now());
    assert_eq!(
        cells.len(),
        columns_for(group, kind).len(),
        "{group}/{kind}: one cell per column"
    );
    Value::Array(cells)
}

fn slice(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn pod(status: Value) -> Value {
    json!({
        "metadata": meta("web", 3 * HOUR),
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "web:1"}]},
        "status": status,
    })
}

fn pod_status(status: Value) -> Value {
    cells("", "Pod", pod(status))[2].clone()
}

/// The columns as `Name | Count:integer | IP+`: non-string types after `:`, `+` for `-o wide`.
fn header(group: &str, kind: &str) -> String {
    let column = |c: &Column| {
        let ty = if c.ty == "string" {
            String::new()
        } else {
            format!(":{}", c.ty)
        };
        format!("{}{ty}{}", c.name, if c.priority == 1 { "+" } else { "" })
    };
    columns_for(group, kind)
        .iter()
        .map(column)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The column names joined with ` | `.
fn names(group: &str, kind: &str) -> String {
    columns_for(group, kind)
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(" | ")
}

// ---------------------------------------------------------------------------------------------
// HumanDuration

#[test]
fn human_duration_matches_kube_boundaries() {
    let cases: &[(i64, &str)] = &[
        (-3, "<invalid>"),
        (-2, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (1, "1s"),
        (70, "70s"),
        (90, "90s"),
        (119, "119s"),
        (120, "2m"),
        (121, "2m1s"),
        (190, "3m10s"),
        (5 * MIN, "5m"),
        (10 * MIN - 1, "9m59s"),
        (10 * MIN, "10m"),
        (10 * MIN + 59, "10m"),
        (70 * MIN, "70m"),
        (125 * MIN, "125m"),
        (3 * HOUR - 1, "179m"),
        (3 * HOUR, "3h"),
        (3 * HOUR + MIN, "3h1m"),
        (8 * HOUR - 1, "7h59m"),
        (8 * HOUR, "8h"),
        (47 * HOUR, "47h"),
        (48 * HOUR - 1, "47h"),
        (48 * HOUR, "2d"),
        (49 * HOUR, "2d1h"),
        (8 * DAY - 1, "7d23h"),
        (8 * DAY, "8d"),
        (8 * DAY + 2 * HOUR, "8d"),
        (367 * DAY, "367d"),
        (730 * DAY - 1, "729d"),
        (730 * DAY, "2y"),
        (730 * DAY + 25 * HOUR, "2y1d"),
        (8 * 365 * DAY - 1, "7y364d"),
        (8 * 365 * DAY + 2 * HOUR, "8y"),
        (100 * 365 * DAY, "100y"),
    ];
    for (secs, want) in cases {
        assert_eq!(human_duration(TimeDelta::seconds(*secs)), *want, "{secs}s");
    }
    // sub-second skew truncates toward zero like int(d.Seconds())
    assert_eq!(human_duration(TimeDelta::milliseconds(-1999)), "0s");
    assert_eq!(human_duration(TimeDelta::milliseconds(-2001)), "<invalid>");
    assert_eq!(human_duration(TimeDelta::milliseconds(119_999)), "119s");
    assert_eq!(since(None, now()), "<unknown>");
    assert_eq!(
        human_duration(TimeDelta::MAX),
        format!("{}y", TimeDelta::MAX.num_seconds() / 60 / 60 / 24 / 365)
    );
    assert_eq!(human_duration(TimeDelta::MIN), "<invalid>");
}

// ---------------------------------------------------------------------------------------------
// Table shape

#[test]
fn table_shape_and_include_object() {
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "uid": "u1"}, "data": {"a": "1"}});
    let table = table_for(
        "",
        "ConfigMap",
        std::slice::from_ref(&object),
        IncludeObject::default(),
        now(),
    );
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(table["metadata"], json!({}));
    assert_eq!(
        table["columnDefinitions"][0],
        json!({"name": "Name", "type": "string", "format": "name", "description": columns_for("", "Pod")[0].description, "priority": 0})
    );
    assert_eq!(table["columnDefinitions"][1]["name"], "Data");
    assert_eq!(table["rows"][0]["cells"], json!(["cm", 1, "<unknown>"]));
    assert_eq!(
        table["rows"][0]["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "cm", "uid": "u1"}})
    );
    assert!(table["rows"][0].get("conditions").is_none());

    let full = table_for(
        "",
        "ConfigMap",
        std::slice::from_ref(&object),
        IncludeObject::Object,
        now(),
    );
    assert_eq!(full["rows"][0]["object"], object);
    let none = table_for(
        "",
        "ConfigMap",
        std::slice::from_ref(&object),
        IncludeObject::None,
        now(),
    );
    assert!(none["rows"][0].get("object").is_none());
    let empty = table_for("apps", "Deployment", &[], IncludeObject::Metadata, now());
    assert_eq!(empty["rows"], json!([]));
    assert_eq!(empty["columnDefinitions"].as_array().unwrap().len(), 8);

    assert_eq!(IncludeObject::parse(""), Some(IncludeObject::Metadata));
    assert_eq!(IncludeObject::parse("None"), Some(IncludeObject::None));
    assert_eq!(IncludeObject::parse("Object"), Some(IncludeObject::Object));
    assert_eq!(IncludeObject::parse("object"), None);
    assert_eq!(partial_object_metadata(&json!(5))["metadata"], json!({}));
}

#[test]
fn default_and_custom_resource_tables() {
    let role = json!({"metadata": {"name": "reader", "creationTimestamp": "2025-01-02T03:04:05Z"}});
    for (group, kind) in [
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("", "LimitRange"),
        ("example.com", "Widget"),
    ] {
        assert_eq!(header(group, kind), "Name | Created At:date");
        assert_eq!(
            cells(group, kind, role.clone()),
            json!(["reader", "2025-01-02T03:04:05Z"])
        );
    }
    assert_eq!(
        cells("", "LimitRange", json!({})),
        json!(["", "0001-01-01T00:00:00Z"])
    );

    let widgets = [
        json!({"metadata": {"name": "w1", "creationTimestamp": ago(5 * MIN)}}),
        json!({"metadata": {"name": "w2"}}),
    ];
    let table = custom_resource_table(&widgets, IncludeObject::None, now());
    assert_eq!(table["columnDefinitions"][1]["name"], "Age");
    assert_eq!(table["columnDefinitions"][1]["type"], "date");
    assert_eq!(table["rows"][0]["cells"], json!(["w1", "5m"]));
    assert_eq!(table["rows"][1]["cells"], json!(["w2", null]));
}

// ---------------------------------------------------------------------------------------------
// Pods

#[test]
fn pod_columns() {
    assert_eq!(
        header("", "Pod"),
        "Name | Ready | Status | Restarts | Age | IP+ | Node+ | Nominated Node+ | Readiness Gates+"
    );
}

#[test]
fn pod_half_ready_with_a_restart() {
    let pod = json!({
        "metadata": meta("web-7d4b9", 3 * HOUR),
        "spec": {"nodeName": "node-1", "containers": [{"name": "app"}, {"name": "sidecar"}]},
        "status": {
            "phase": "Running",
            "podIP": "10.244.0.5",
            "podIPs": [{"ip": "10.244.0.5"}],
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": ago(3 * HOUR)}}},
                {"name": "sidecar", "ready": false, "restartCount": 1, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(5 * MIN)}}},
            ],
        },
    });
    assert_eq!(
        cells("", "Pod", pod),
        json!([
            "web-7d4b9",
            "1/2",
            "Running",
            "1 (5m ago)",
            "3h",
            "10.244.0.5",
            "node-1",
            "<none>",
            "<none>"
        ])
    );
}

#[test]
fn pod_statuses() {
    let waiting = |reason: &str| json!({"phase": "Pending", "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": reason}}}]});
    assert_eq!(pod_status(json!({})), "Pending");
    assert_eq!(pod_status(json!({"phase": "Running"})), "Running");
    assert_eq!(
        pod_status(waiting("ContainerCreating")),
        "ContainerCreating"
    );
    assert_eq!(pod_status(waiting("CrashLoopBackOff")), "CrashLoopBackOff");
    assert_eq!(
        pod_status(json!({"phase": "Failed", "reason": "Evicted"})),
        "Evicted"
    );
    let terminated = |t: Value| json!({"phase": "Failed", "containerStatuses": [{"name": "app", "state": {"terminated": t}}]});
    assert_eq!(
        pod_status(terminated(json!({"exitCode": 0, "reason": "Completed"}))),
        "Completed"
    );
    assert_eq!(
        pod_status(terminated(json!({"exitCode": 137, "reason": "OOMKilled"}))),
        "OOMKilled"
    );
    assert_eq!(pod_status(terminated(json!({"exitCode": 3}))), "ExitCode:3");
    assert_eq!(
        pod_status(terminated(json!({"exitCode": 3, "signal": 9}))),
        "Signal:9"
    );
    let gated = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]});
    assert_eq!(pod_status(gated), "SchedulingGated");

    // a completed container next to a running one: Running when the pod is Ready, else NotReady
    let mixed = |ready: &str| {
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": ready}], "containerStatuses": [
            {"name": "a", "ready": true, "state": {"running": {}}},
            {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        ]})
    };
    assert_eq!(pod_status(mixed("True")), "Running");
    assert_eq!(pod_status(mixed("False")), "NotReady");
}

#[test]
fn pod_crash_loop_and_completed_rows() {
    let crashing = pod(json!({"phase": "Running", "containerStatuses": [{
        "name": "app", "ready": false, "restartCount": 5,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(30)}},
    }]}));
    assert_eq!(
        cells("", "Pod", crashing),
        json!([
            "web",
            "0/1",
            "CrashLoopBackOff",
            "5 (30s ago)",
            "3h",
            "<none>",
            "node-1",
            "<none>",
            "<none>"
        ])
    );

    let done = pod(
        json!({"phase": "Succeeded", "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    let table = table_for("", "Pod", &[done], IncludeObject::None, now());
    assert_eq!(
        slice(&table["rows"][0]["cells"])[1..3],
        [json!("0/1"), json!("Completed")]
    );
    assert_eq!(
        table["rows"][0]["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}])
    );
    let failed = table_for(
        "",
        "Pod",
        &[pod(json!({"phase": "Failed"}))],
        IncludeObject::None,
        now(),
    );
    assert_eq!(
        failed["rows"][0]["conditions"][0]["message"],
        "The pod failed."
    );

    // restarts without a termination time have no "ago"
    let restarted = pod(
        json!({"containerStatuses": [{"name": "app", "restartCount": 2, "state": {"running": {}}}]}),
    );
    assert_eq!(cells("", "Pod", restarted)[3], "2");
}

#[test]
fn pod_terminating() {
    let mut p = pod(json!({"phase": "Running"}));
    p["metadata"]["deletionTimestamp"] = json!(ago(10));
    assert_eq!(cells("", "Pod", p.clone())[2], "Terminating");
    p["status"]["reason"] = json!("NodeLost");
    assert_eq!(cells("", "Pod", p.clone())[2], "Unknown");
    // a pod that already finished is not shown as terminating
    let mut finished = pod(json!({"phase": "Succeeded"}));
    finished["metadata"]["deletionTimestamp"] = json!(ago(10));
    assert_eq!(cells("", "Pod", finished)[2], "Succeeded");
}

#[test]
fn pod_init_containers() {
    let with_init = |statuses: Value| {
        let mut p = pod(json!({"phase": "Pending", "initContainerStatuses": statuses}));
        p["spec"]["initContainers"] = json!([{"name": "migrate"}, {"name": "seed"}]);
        cells("", "Pod", p)
    };
    let ok = json!({"name": "migrate", "state": {"terminated": {"exitCode": 0}}});
    assert_eq!(
        with_init(json!([ok, {"name": "seed", "state": {"running": {}}}]))[2],
        "Init:1/2"
    );
    assert_eq!(
        with_init(
            json!([{"name": "migrate", "state": {"waiting": {"reason": "PodInitializing"}}}])
        )[2],
        "Init:0/2"
    );
    assert_eq!(
        with_init(
            json!([{"name": "migrate", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                         "lastState": {"terminated": {"finishedAt": ago(70)}}}])
        ),
        json!([
            "web",
            "0/1",
            "Init:CrashLoopBackOff",
            "3 (70s ago)",
            "3h",
            "<none>",
            "node-1",
            "<none>",
            "<none>"
        ])
    );
    assert_eq!(
        with_init(
            json!([ok, {"name": "seed", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}])
        )[2],
        "Init:Error"
    );
    assert_eq!(
        with_init(json!([{"name": "migrate", "state": {"terminated": {"exitCode": 2}}}]))[2],
        "Init:ExitCode:2"
    );
    assert_eq!(
        with_init(
            json!([{"name": "migrate", "state": {"terminated": {"exitCode": 2, "signal": 15}}}])
        )[2],
        "Init:Signal:15"
    );
}

#[test]
fn pod_sidecars_count_as_containers() {
    let p = json!({
        "metadata": meta("web", 3 * HOUR),
        "spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "app"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
            "initContainerStatuses": [{"name": "proxy", "started": true, "ready": true, "restartCount": 2,
                "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(10 * MIN)}}}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 1,
                "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(2 * MIN)}}}],
        },
    });
    assert_eq!(
        slice(&cells("", "Pod", p))[1..4],
        [json!("2/2"), json!("Running"), json!("3 (2m ago)")]
    );
}

#[test]
fn pod_wide_cells() {
    let mut p = pod(json!({
        "phase": "Running",
        "podIPs": [{"ip": "fd00::5"}, {"ip": "10.0.0.5"}],
        "nominatedNodeName": "node-2",
        "conditions": [{"type": "example.com/a", "status": "True"}, {"type": "example.com/b", "status": "False"}],
    }));
    p["spec"]["readinessGates"] = json!([{"conditionType": "example.com/a"}, {"conditionType": "example.com/b"}, {"conditionType": "example.com/c"}]);
    assert_eq!(
        slice(&cells("", "Pod", p))[5..],
        [
            json!("fd00::5"),
            json!("node-1"),
            json!("node-2"),
            json!("1/3")
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Core kinds

#[test]
fn namespace_configmap_secret_serviceaccount() {
    assert_eq!(header("", "Namespace"), "Name | Status | Age");
    assert_eq!(
        cells(
            "",
            "Namespace",
            json!({"metadata": meta("default", 10 * DAY), "status": {"phase": "Active"}})
        ),
        json!(["default", "Active", "10d"])
    );
    assert_eq!(
        cells("", "Namespace", json!({"metadata": meta("new", 5)})),
        json!(["new", "Active", "5s"])
    );
    assert_eq!(
        cells(
            "",
            "ConfigMap",
            json!({"metadata": meta("cfg", 90), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}})
        ),
        json!(["cfg", 3, "90s"])
    );
    assert_eq!(names("", "Secret"), "Name | Type | Data | Age");
    assert_eq!(
        cells(
            "",
            "Secret",
            json!({"metadata": meta("tls", 2 * DAY), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}})
        ),
        json!(["tls", "kubernetes.io/tls", 2, "2d"])
    );
    assert_eq!(
        cells("", "Secret", json!({"metadata": meta("s", 1)})),
        json!(["s", "Opaque", 0, "1s"])
    );
    assert_eq!(header("", "ServiceAccount"), "Name | Secrets | Age");
    assert_eq!(
        cells(
            "",
            "ServiceAccount",
            json!({"metadata": meta("default", 8 * HOUR), "secrets": [{"name": "t"}]})
        ),
        json!(["default", 1, "8h"])
    );
}

#[test]
fn services() {
    assert_eq!(
        header("", "Service"),
        "Name | Type | Cluster-IP | External-IP | Port(s) | Age | Selector+"
    );
    let node_port = json!({
        "metadata": meta("web", 2 * HOUR + 5 * MIN),
        "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "selector": {"app": "web", "tier": "fe"},
                 "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 443, "nodePort": 30001, "protocol": "TCP"}]},
    });
    assert_eq!(
        cells("", "Service", node_port),
        json!([
            "web",
            "NodePort",
            "10.96.0.10",
            "<none>",
            "80:30080/TCP,443:30001/TCP",
            "125m",
            "app=web,tier=fe"
        ])
    );
    let cluster_ip = json!({"metadata": meta("dns", 30), "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53}]}});
    assert_eq!(
        cells("", "Service", cluster_ip),
        json!([
            "dns",
            "ClusterIP",
            "10.96.0.10",
            "<none>",
            "53/UDP,53/TCP",
            "30s",
            "<none>"
        ])
    );
    let headless = json!({"metadata": meta("db", 30), "spec": {"type": "ClusterIP", "clusterIP": "None", "externalIPs": ["1.2.3.4", "5.6.7.8"]}});
    assert_eq!(
        slice(&cells("", "Service", headless))[2..5],
        [json!("None"), json!("1.2.3.4,5.6.7.8"), json!("<none>")]
    );

    let lb = |status: Value, external: Value| {
        let svc = json!({"metadata": meta("lb", 30), "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.1", "externalIPs": external,
                         "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]}, "status": status});
        cells("", "Service", svc)[3].clone()
    };
    assert_eq!(lb(json!({}), json!(null)), "<pending>");
    let ingress = json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.2"}, {"hostname": "lb.example.com"}, {"ip": "203.0.113.1"}, {"ip": "203.0.113.2"}]}});
    assert_eq!(
        lb(ingress.clone(), json!(null)),
        "203.0.113.1,203.0.113.2,lb.example.com"
    );
    assert_eq!(
        lb(ingress, json!(["9.9.9.9"])),
        "203.0.113.1,203.0.113.2,lb.example.com,9.9.9.9"
    );
    assert_eq!(lb(json!({}), json!(["9.9.9.9"])), "9.9.9.9");

    let external_name = json!({"metadata": meta("ext", 30), "spec": {"type": "ExternalName", "externalName": "db.example.com"}});
    assert_eq!(
        slice(&cells("", "Service", external_name))[1..5],
        [
            json!("ExternalName"),
            json!("<none>"),
            json!("db.example.com"),
            json!("<none>")
        ]
    );
    assert_eq!(
        cells("", "Service", json!({"spec": {"type": "Weird"}}))[3],
        "<unknown>"
    );
}

#[test]
fn endpoints_and_slices() {
    let eps = |subsets: Value| {
        cells(
            "",
            "Endpoints",
            json!({"metadata": meta("web", 60), "subsets": subsets}),
        )[1]
        .clone()
    };
    assert_eq!(eps(json!(null)), "<none>");
    assert_eq!(eps(json!([])), "<none>");
    assert_eq!(
        eps(json!([{"addresses": [{"ip": "10.0.0.1"}]}])),
        "10.0.0.1"
    );
    assert_eq!(
        eps(json!([{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}])),
        "[fd00::1]:80"
    );
    assert_eq!(
        eps(
            json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]}])
        ),
        "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."
    );
    assert_eq!(
        eps(json!([{"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}])),
        ""
    );

    let slice = json!({
        "metadata": meta("web-abc", 60),
        "addressType": "IPv4",
        "ports": [{"port": 80, "name": "http"}, {"name": "metrics"}, {}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}],
    });
    assert_eq!(
        cells("discovery.k8s.io", "EndpointSlice", slice),
        json!([
            "web-abc",
            "IPv4",
            "80,metrics,*",
            "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
            "60s"
        ])
    );
    assert_eq!(
        cells(
            "discovery.k8s.io",
            "EndpointSlice",
            json!({"metadata": meta("e", 60), "addressType": "IPv6"})
        ),
        json!(["e", "IPv6", "<unset>", "<unset>", "60s"])
    );
}

#[test]
fn events() {
    assert_eq!(
        header("", "Event"),
        "Last Seen | Type | Reason | Object | Subobject+ | Source+ | Message | First Seen+ | Count+ | Name+"
    );
    assert_eq!(columns_for("", "Event")[9].format, "name");
    let backoff = json!({
        "metadata": meta("web.17a", 10 * MIN),
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "type": "Warning", "message": "Back-off restarting failed container\n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(10 * MIN), "lastTimestamp": ago(30), "count": 12,
    });
    assert_eq!(
        cells("", "Event", backoff),
        json!([
            "30s",
            "Warning",
            "BackOff",
            "pod/web",
            "spec.containers{app}",
            "kubelet, node-1",
            "Back-off restarting failed container",
            "10m",
            12,
            "web.17a"
        ])
    );
    let series = json!({
        "metadata": meta("s", 2 * MIN),
        "involvedObject": {"kind": "Node"},
        "eventTime": "2025-06-01T11:57:59.123456Z",
        "series": {"count": 3, "lastObservedTime": "2025-06-01T11:59:40.000000Z"},
        "reportingComponent": "scheduler", "reportingInstance": "sched-1", "type": "Normal", "reason": "Scheduled",
    });
    assert_eq!(
        cells("", "Event", series),
        json!([
            "20s",
            "Normal",
            "Scheduled",
            "node",
            "",
            "scheduler, sched-1",
            "",
            "2m",
            3,
            "s"
        ])
    );
    let bare = cells("", "Event", json!({"metadata": {"name": "x"}}));
    assert_eq!(
        bare,
        json!(["<unknown>", "", "", "", "", "", "", "<unknown>", 1, "x"])
    );

    let new_api = json!({
        "metadata": meta("n", 60),
        "regarding": {"kind": "Deployment", "name": "web", "fieldPath": ""},
        "note": "Scaled up replica set web-abc to 3", "reason": "ScalingReplicaSet", "type": "Normal",
        "reportingController": "deployment-controller", "reportingInstance": "",
        "eventTime": ago(60), "deprecatedCount": 0,
    });
    assert_eq!(header("events.k8s.io", "Event"), header("", "Event"));
    assert_eq!(
        cells("events.k8s.io", "Event", new_api),
        json!([
            "60s",
            "Normal",
            "ScalingReplicaSet",
            "deployment/web",
            "",
            "deployment-controller",
            "Scaled up replica set web-abc to 3",
            "60s",
            1,
            "n"
        ])
    );
}

#[test]
fn nodes() {
    let node = json!({
        "metadata": {"name": "node-1", "creationTimestamp": ago(45 * DAY), "labels": {
            "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": "",
            "node-role.kubernetes.io/": "", "kubernetes.io/role": "ingress", "kubernetes.io/hostname": "node-1"}},
        "spec": {"unschedulable": true},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "192.168.1.10"}],
            "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Ubuntu 24.04 LTS", "kernelVersion": "6.8.0-45-generic",
                         "containerRuntimeVersion": "containerd://2.0.0"},
        },
    });
    assert_eq!(
        cells("", "Node", node),
        json!([
            "node-1",
            "Ready,SchedulingDisabled",
            "control-plane,ingress,worker",
            "45d",
            "v1.33.1",
            "192.168.1.10",
            "<none>",
            "Ubuntu 24.04 LTS",
            "6.8.0-45-generic",
            "containerd://2.0.0"
        ])
    );
    let not_ready = json!({"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}],
                           "addresses": [{"type": "ExternalIP", "address": "203.0.113.5"}]}});
    assert_eq!(
        cells("", "Node", not_ready),
        json!([
            "n2",
            "NotReady",
            "<none>",
            "<unknown>",
            "",
            "<none>",
            "203.0.113.5",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ])
    );
    assert_eq!(
        cells("", "Node", json!({"metadata": {"name": "n3"}}))[1],
        "Unknown"
    );
    assert_eq!(
        header("", "Node"),
        "Name | Status | Roles | Age | Version | Internal-IP+ | External-IP+ | OS-Image+ | Kernel-Version+ | Container-Runtime+"
    );
}

#[test]
fn volumes_and_claims() {
    let pv = json!({
        "metadata": meta("pv-1", DAY),
        "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOncePod", "ReadOnlyMany", "ReadOnlyMany"],
                 "persistentVolumeReclaimPolicy": "Delete", "claimRef": {"namespace": "default", "name": "data"},
                 "storageClassName": "standard", "volumeMode": "Block", "volumeAttributesClassName": "gold"},
        "status": {"phase": "Bound"},
    });
    assert_eq!(
        cells("", "PersistentVolume", pv),
        json!([
            "pv-1",
            "5Gi",
            "ROX,RWOP",
            "Delete",
            "Bound",
            "default/data",
            "standard",
            "gold",
            "",
            "24h",
            "Block"
        ])
    );
    let mut released = json!({"metadata": meta("pv-2", 60), "status": {"phase": "Failed", "reason": "Recycle failed"}});
    released["metadata"]["annotations"] = json!({"volume.beta.kubernetes.io/storage-class": "old"});
    released["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(
        cells("", "PersistentVolume", released),
        json!([
            "pv-2",
            "0",
            "",
            "Retain",
            "Terminating",
            "",
            "old",
            "<unset>",
            "Recycle failed",
            "60s",
            "Filesystem"
        ])
    );
    assert_eq!(
        header("", "PersistentVolumeClaim"),
        "Name | Status | Volume | Capacity | Access Modes | StorageClass | VolumeAttributesClass | Age | VolumeMode+"
    );
    let bound = json!({
        "metadata": meta("data", 3 * DAY),
        "spec": {"volumeName": "pv-1", "storageClassName": "standard", "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]},
    });
    assert_eq!(
        cells("", "PersistentVolumeClaim", bound),
        json!([
            "data",
            "Bound",
            "pv-1",
            "10Gi",
            "RWO,RWX",
            "standard",
            "<unset>",
            "3d",
            "Filesystem"
        ])
    );
    let pending = json!({"metadata": meta("cache", 30), "spec": {"resources": {"requests": {"storage": "1Gi"}}, "volumeAttributesClassName": "fast"}});
    assert_eq!(
        cells("", "PersistentVolumeClaim", pending),
        json!([
            "cache",
            "Pending",
            "",
            "",
            "",
            "",
            "fast",
            "30s",
            "Filesystem"
        ])
    );
}

#[test]
fn resource_quota() {
    let quota = json!({
        "metadata": meta("compute", 7 * DAY),
        "status": {"hard": {"pods": "10", "requests.cpu": "1", "limits.memory": "2Gi", "limits.cpu": "2"},
                   "used": {"pods": "3", "requests.cpu": "500m", "limits.cpu": "1"}},
    });
    assert_eq!(
        cells("", "ResourceQuota", quota),
        json!([
            "compute",
            "7d",
            "pods: 3/10, requests.cpu: 500m/1",
            "limits.cpu: 1/2, limits.memory: 0/2Gi"
        ])
    );
    assert_eq!(names("", "ResourceQuota"), "Name | Age | Request | Limit");
    assert_eq!(
        cells("", "ResourceQuota", json!({"metadata": meta("q", 1)})),
        json!(["q", "1s", "", ""])
    );
}

// ---------------------------------------------------------------------------------------------
// Workloads

fn template(containers: Value) -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}})
}

#[test]
fn deployments() {
    assert_eq!(
        header("apps", "Deployment"),
        "Name | Ready | Up-to-date | Available | Age | Containers+ | Images+ | Selector+"
    );
    let deploy = json!({
        "metadata": meta("web", 26 * HOUR),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "track", "operator": "NotIn", "values": ["canary"]}]},
                 "template": template(json!([{"name": "app", "image": "web:1"}, {"name": "log", "image": "fluent:2"}]))},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    });
    assert_eq!(
        cells("apps", "Deployment", deploy),
        json!([
            "web",
            "2/3",
            3,
            2,
            "26h",
            "app,log",
            "web:1,fluent:2",
            "app=web,track notin (canary)"
        ])
    );
    let bare = json!({"metadata": meta("d", 60)});
    assert_eq!(
        cells("apps", "Deployment", bare),
        json!(["d", "0/1", 0, 0, "60s", "", "", ""])
    );
    let bad = json!({"metadata": meta("d", 60), "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Bogus"}]}}});
    assert_eq!(cells("apps", "Deployment", bad)[7], "<invalid>");
}

#[test]
fn replica_sets_and_controllers() {
    assert_eq!(
        header("apps", "ReplicaSet"),
        "Name | Desired:integer | Current:integer | Ready:integer | Age | Containers+ | Images+ | Selector+"
    );
    let rs = json!({
        "metadata": meta("web-abc", 5 * MIN + 3),
        "spec": {"replicas": 2, "selector": {"matchLabels": {"pod-template-hash": "abc", "app": "web"}}, "template": template(json!([{"name": "app", "image": "web:1"}]))},
        "status": {"replicas": 2, "readyReplicas": 1},
    });
    assert_eq!(
        cells("apps", "ReplicaSet", rs),
        json!([
            "web-abc",
            2,
            2,
            1,
            "5m3s",
            "app",
            "web:1",
            "app=web,pod-template-hash=abc"
        ])
    );
    let bad = json!({"metadata": meta("x", 1), "spec": {"selector": {"matchLabels": {"a": "-"}}}});
    assert_eq!(cells("apps", "ReplicaSet", bad)[7], "<error>");
    assert_eq!(
        cells(
            "apps",
            "ReplicaSet",
            json!({"metadata": meta("x", 1), "spec": {"selector": {}}})
        )[7],
        "<none>"
    );

    let rc = json!({
        "metadata": meta("rc", 90),
        "spec": {"replicas": 3, "selector": {"app": "web"}, "template": template(json!([{"name": "nginx", "image": "nginx:1.27"}]))},
        "status": {"replicas": 3, "readyReplicas": 2},
    });
    assert_eq!(
        cells("", "ReplicationController", rc),
        json!(["rc", 3, 3, 2, "90s", "nginx", "nginx:1.27", "app=web"])
    );
}

#[test]
fn stateful_and_daemon_sets() {
    assert_eq!(
        header("apps", "StatefulSet"),
        "Name | Ready | Age | Containers+ | Images+"
    );
    let sts = json!({"metadata": meta("db", 4 * HOUR), "spec": {"replicas": 3, "template": template(json!([{"name": "pg", "image": "postgres:17"}]))},
                     "status": {"readyReplicas": 3}});
    assert_eq!(
        cells("apps", "StatefulSet", sts),
        json!(["db", "3/3", "4h", "pg", "postgres:17"])
    );

    let ds = json!({
        "metadata": meta("agent", 9 * DAY),
        "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["agent"]}]},
                 "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [{"name": "agent", "image": "agent:1"}]}}},
        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 3, "numberAvailable": 2},
    });
    assert_eq!(
        cells("apps", "DaemonSet", ds),
        json!([
            "agent",
            3,
            3,
            2,
            3,
            2,
            "kubernetes.io/os=linux",
            "9d",
            "agent",
            "agent:1",
            "app in (agent)"
        ])
    );
    assert_eq!(
        header("apps", "DaemonSet"),
        "Name | Desired:integer | Current:integer | Ready:integer | Up-to-date:integer | Available:integer | Node Selector | Age | Containers+ | Images+ | Selector+"
    );
    assert_eq!(
        cells("apps", "DaemonSet", json!({"metadata": meta("d", 1)}))[6],
        "<none>"
    );
}

#[test]
fn controller_revisions() {
    let rev = |owners: Value| {
        let mut m = meta("agent-5f7", 60);
        m["ownerReferences"] = owners;
        cells(
            "apps",
            "ControllerRevision",
            json!({"metadata": m, "revision": 4}),
        )
    };
    assert_eq!(
        rev(
            json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "controller": true}])
        ),
        json!(["agent-5f7", "daemonset.apps/agent", 4, "60s"])
    );
    assert_eq!(
        rev(json!([{"apiVersion": "v1", "kind": "Pod", "name": "p", "controller": true}]))[1],
        "pod/p"
    );
    assert_eq!(
        rev(json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent"}]))[1],
        "<none>"
    );
    assert_eq!(rev(json!(null))[1], "<none>");
}

#[test]
fn jobs() {
    assert_eq!(
        header("batch", "Job"),
        "Name | Status | Completions | Duration | Age | Containers+ | Images+ | Selector+"
    );
    let job = |spec: Value, status: Value| {
        let mut spec = spec;
        spec["template"] = template(json!([{"name": "pi", "image": "perl:5"}]));
        cells(
            "batch",
            "Job",
            json!({"metadata": meta("pi", 10 * MIN), "spec": spec, "status": status}),
        )
    };
    let complete = job(
        json!({"completions": 1, "parallelism": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}}),
        json!({"succeeded": 1, "startTime": ago(10 * MIN), "completionTime": ago(9 * MIN + 30),
               "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
    );
    assert_eq!(
        complete,
        json!([
            "pi",
            "Complete",
            "1/1",
            "30s",
            "10m",
            "pi",
            "perl:5",
            "batch.kubernetes.io/controller-uid=u1"
        ])
    );
    let running = job(
        json!({"parallelism": 3}),
        json!({"startTime": ago(90), "active": 3}),
    );
    assert_eq!(
        slice(&running)[1..4],
        [json!("Running"), json!("0/1 of 3"), json!("90s")]
    );
    assert_eq!(
        slice(&job(json!({}), json!({})))[1..4],
        [json!("Running"), json!("0/1"), json!("")]
    );
    let status_of = |conditions: Value| {
        job(
            json!({"completions": 2}),
            json!({"succeeded": 1, "conditions": conditions}),
        )[1]
        .clone()
    };
    assert_eq!(
        status_of(json!([{"type": "Failed", "status": "True"}])),
        "Failed"
    );
    assert_eq!(
        status_of(json!([{"type": "Suspended", "status": "True"}])),
        "Suspended"
    );
    assert_eq!(
        status_of(json!([{"type": "Suspended", "status": "False"}])),
        "Running"
    );
    assert_eq!(
        status_of(json!([{"type": "FailureTarget", "status": "True"}])),
        "FailureTarget"
    );
    assert_eq!(
        status_of(json!([{"type": "SuccessCriteriaMet", "status": "True"}])),
        "SuccessCriteriaMet"
    );
    let mut deleting = json!({"metadata": meta("pi", 60), "spec": {"completions": 2}, "status": {"conditions": [{"type": "Suspended", "status": "True"}]}});
    deleting["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(cells("batch", "Job", deleting)[1], "Terminating");
}

#[test]
fn cron_jobs() {
    assert_eq!(
        header("batch", "CronJob"),
        "Name | Schedule | Timezone | Suspend:boolean | Active:integer | Last Schedule | Age | Containers+ | Images+ | Selector+"
    );
    let cron = json!({
        "metadata": meta("hello", 3 * DAY),
        "spec": {"schedule": "*/5 * * * *", "timeZone": "Etc/UTC", "suspend": false,
                 "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "hello", "image": "busybox"}]}}}}},
        "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": ago(4 * MIN)},
    });
    assert_eq!(
        cells("batch", "CronJob", cron),
        json!([
            "hello",
            "*/5 * * * *",
            "Etc/UTC",
            "False",
            1,
            "4m",
            "3d",
            "hello",
            "busybox",
            "<none>"
        ])
    );
    let suspended =
        json!({"metadata": meta("c", 60), "spec": {"schedule": "@daily", "suspend": true}});
    assert_eq!(
        cells("batch", "CronJob", suspended),
        json!([
            "c", "@daily", "<none>", "True", 0, "<none>", "60s", "", "", "<none>"
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// Networking, policy, storage, RBAC, the rest

#[test]
fn ingresses() {
    let ingress = json!({
        "metadata": meta("ing", 60),
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}], "tls": [{"hosts": ["a.example.com"]}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}]}},
    });
    assert_eq!(
        cells("networking.k8s.io", "Ingress", ingress),
        json!([
            "ing",
            "nginx",
            "a.example.com,b.example.com",
            "203.0.113.9,lb.example.com",
            "80, 443",
            "60s"
        ])
    );
    let catch_all = json!({"metadata": meta("all", 60), "spec": {"defaultBackend": {}, "rules": [{"http": {}}]}});
    assert_eq!(
        cells("networking.k8s.io", "Ingress", catch_all),
        json!(["all", "<none>", "*", "", "80", "60s"])
    );
    let many: Vec<Value> = ["h1", "", "h2", "h3", "h4", "h5"]
        .iter()
        .map(|h| json!({"host": h}))
        .collect();
    let many = json!({"metadata": meta("m", 60), "spec": {"rules": many}});
    assert_eq!(
        cells("networking.k8s.io", "Ingress", many)[2],
        "h1,h2,h3 + 3 more..."
    );
    let three: Vec<Value> = ["h1", "h2", "h3"]
        .iter()
        .map(|h| json!({"host": h}))
        .collect();
    assert_eq!(
        cells(
            "networking.k8s.io",
            "Ingress",
            json!({"spec": {"rules": three}})
        )[2],
        "h1,h2,h3"
    );

    let class = json!({"metadata": meta("nginx", 60), "spec": {"controller": "k8s.io/ingress-nginx",
                       "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}});
    assert_eq!(
        cells("networking.k8s.io", "IngressClass", class),
        json!([
            "nginx",
            "k8s.io/ingress-nginx",
            "IngressParameters.k8s.example.com/external-lb",
            "60s"
        ])
    );
    let core_params = json!({"metadata": meta("c", 60), "spec": {"controller": "x", "parameters": {"kind": "ConfigMap", "name": "cfg"}}});
    assert_eq!(
        cells("networking.k8s.io", "IngressClass", core_params)[2],
        "ConfigMap/cfg"
    );
    assert_eq!(
        cells(
            "networking.k8s.io",
            "IngressClass",
            json!({"metadata": meta("c", 60)})
        )[2],
        "<none>"
    );
}

#[test]
fn network_policies_leases_pdbs() {
    let np = |selector: Value| {
        cells(
            "networking.k8s.io",
            "NetworkPolicy",
            json!({"metadata": meta("np", 60), "spec": {"podSelector": selector}}),
        )
    };
    assert_eq!(
        np(json!({"matchLabels": {"role": "db"}})),
        json!(["np", "role=db", "60s"])
    );
    assert_eq!(np(json!({}))[1], "<none>");
    assert_eq!(np(json!(null))[1], "<none>");

    let lease = json!({"metadata": meta("node-1", 40 * DAY), "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}});
    assert_eq!(
        cells("coordination.k8s.io", "Lease", lease),
        json!(["node-1", "node-1", "40d"])
    );
    assert_eq!(
        cells(
            "coordination.k8s.io",
            "Lease",
            json!({"metadata": meta("l", 1)})
        ),
        json!(["l", "", "1s"])
    );

    let pdb = |spec: Value| {
        cells(
            "policy",
            "PodDisruptionBudget",
            json!({"metadata": meta("pdb", 60), "spec": spec, "status": {"disruptionsAllowed": 1}}),
        )
    };
    assert_eq!(
        pdb(json!({"minAvailable": 2})),
        json!(["pdb", "2", "N/A", 1, "60s"])
    );
    assert_eq!(
        pdb(json!({"maxUnavailable": "25%"})),
        json!(["pdb", "N/A", "25%", 1, "60s"])
    );
}

#[test]
fn scheduling_and_storage_classes() {
    let pc = json!({"metadata": meta("high", 60), "value": 1_000_000, "globalDefault": false, "preemptionPolicy": "Never"});
    assert_eq!(
        cells("scheduling.k8s.io", "PriorityClass", pc),
        json!(["high", 1_000_000, false, "60s", "Never"])
    );
    let system = json!({"metadata": meta("system-node-critical", 60), "value": 2_000_001_000, "globalDefault": true});
    assert_eq!(
        slice(&cells("scheduling.k8s.io", "PriorityClass", system))[1..],
        [
            json!(2_000_001_000),
            json!(true),
            json!("60s"),
            json!("PreemptLowerPriority")
        ]
    );
    assert_eq!(
        header("scheduling.k8s.io", "PriorityClass"),
        "Name | Value:integer | Global-Default:boolean | Age | PreemptionPolicy+"
    );

    let mut sc = json!({"metadata": meta("local-path", 60), "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"});
    sc["metadata"]["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
    assert_eq!(
        cells("storage.k8s.io", "StorageClass", sc),
        json!([
            "local-path (default)",
            "rancher.io/local-path",
            "Delete",
            "WaitForFirstConsumer",
            false,
            "60s"
        ])
    );
    let mut beta = json!({"metadata": meta("fast", 60), "provisioner": "x", "reclaimPolicy": "Retain", "allowVolumeExpansion": true});
    beta["metadata"]["annotations"] =
        json!({"storageclass.beta.kubernetes.io/is-default-class": "true"});
    assert_eq!(
        cells("storage.k8s.io", "StorageClass", beta),
        json!(["fast (default)", "x", "Retain", "Immediate", true, "60s"])
    );
}

#[test]
fn role_bindings() {
    let rb = json!({
        "metadata": meta("read-pods", 60),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [
            {"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"}, {"kind": "User", "name": "bob"},
            {"kind": "ServiceAccount", "namespace": "ci", "name": "deployer"}, {"kind": "Robot", "name": "r2"},
        ],
    });
    assert_eq!(
        cells("rbac.authorization.k8s.io", "RoleBinding", rb.clone()),
        json!([
            "read-pods",
            "Role/pod-reader",
            "60s",
            "alice, bob",
            "devs",
            "ci/deployer"
        ])
    );
    assert_eq!(
        cells("rbac.authorization.k8s.io", "ClusterRoleBinding", rb)[1],
        "Role/pod-reader"
    );
    assert_eq!(
        header("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        "Name | Role | Age | Users+ | Groups+ | ServiceAccounts+"
    );
    assert_eq!(
        cells(
            "rbac.authorization.k8s.io",
            "RoleBinding",
            json!({"metadata": meta("e", 1)})
        ),
        json!(["e", "/", "1s", "", "", ""])
    );
}

#[test]
fn certificate_signing_requests_and_misc() {
    let csr = json!({
        "metadata": meta("csr-1", 60),
        "spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "alice", "expirationSeconds": 86400},
        "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"},
    });
    assert_eq!(
        cells("certificates.k8s.io", "CertificateSigningRequest", csr),
        json!([
            "csr-1",
            "60s",
            "kubernetes.io/kube-apiserver-client",
            "alice",
            "24h",
            "Approved,Issued"
        ])
    );
    let denied = json!({"metadata": meta("csr-2", 60), "status": {"conditions": [{"type": "Approved"}, {"type": "Denied"}, {"type": "Failed"}]}});
    assert_eq!(
        cells("certificates.k8s.io", "CertificateSigningRequest", denied),
        json!(["csr-2", "60s", "<none>", "", "<none>", "Denied,Failed"])
    );

    let template = json!({"metadata": meta("t", 60), "template": {"metadata": {"labels": {"b": "2", "a": "1"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}});
    assert_eq!(
        cells("", "PodTemplate", template),
        json!(["t", "c", "i", "a=1,b=2"])
    );
    let hooks = json!({"metadata": meta("hooks", 60), "webhooks": [{"name": "a"}, {"name": "b"}]});
    assert_eq!(
        cells(
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
            hooks.clone()
        ),
        json!(["hooks", 2, "60s"])
    );
    assert_eq!(
        cells(
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration",
            hooks
        ),
        json!(["hooks", 2, "60s"])
    );
    assert_eq!(
        cells(
            "node.k8s.io",
            "RuntimeClass",
            json!({"metadata": meta("gvisor", 60), "handler": "runsc"})
        ),
        json!(["gvisor", "runsc", "60s"])
    );
}

// ---------------------------------------------------------------------------------------------
// Robustness

const KINDS: &[(&str, &str)] = &[
    ("", "Pod"),
    ("", "PodTemplate"),
    ("policy", "PodDisruptionBudget"),
    ("", "ReplicationController"),
    ("apps", "ReplicaSet"),
    ("apps", "DaemonSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("", "Service"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"),
    ("apps", "StatefulSet"),
    ("", "Endpoints"),
    ("", "Node"),
    ("", "Event"),
    ("events.k8s.io", "Event"),
    ("", "Namespace"),
    ("", "Secret"),
    ("", "ServiceAccount"),
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    ("apps", "Deployment"),
    ("", "ConfigMap"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("coordination.k8s.io", "Lease"),
    ("storage.k8s.io", "StorageClass"),
    ("apps", "ControllerRevision"),
    ("", "ResourceQuota"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("discovery.k8s.io", "EndpointSlice"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("rbac.authorization.k8s.io", "Role"),
    ("", "LimitRange"),
];

#[test]
fn every_kind_has_a_name_column_and_one_cell_per_column() {
    for (group, kind) in KINDS {
        let columns = columns_for(group, kind);
        assert!(
            columns
                .iter()
                .any(|c| c.name == "Name" && c.format == "name"),
            "{group}/{kind}"
        );
        assert!(columns.iter().all(|c| c.priority == 0 || c.priority == 1));
        let object = json!({"metadata": {"name": "x", "creationTimestamp": ago(61)}});
        let cells = cells(group, kind, object);
        let name_at = columns.iter().position(|c| c.name == "Name").unwrap();
        assert!(
            cells[name_at].as_str().unwrap().starts_with('x'),
            "{group}/{kind}: {cells}"
        );
    }
}

#[test]
fn malformed_objects_never_panic() {
    let garbage = [
        json!(null),
        json!([]),
        json!("pod"),
        json!(42),
        json!({"metadata": 5, "spec": [], "status": "x"}),
        json!({"metadata": {"name": 5, "creationTimestamp": "yesterday", "labels": [], "annotations": 1, "ownerReferences": {}}}),
        json!({"spec": {"containers": [1, null, {"name": 2}], "initContainers": "x", "replicas": "three", "selector": "app=web",
                        "ports": [{"port": "80", "nodePort": -1}], "rules": [null], "capacity": [], "accessModes": [1],
                        "readinessGates": [5], "template": {"spec": {"containers": {}}}, "jobTemplate": []},
               "status": {"conditions": [null, 1, {"type": 2}], "containerStatuses": [null, {"state": {"terminated": 1}}],
                          "initContainerStatuses": [{"state": {"terminated": {"exitCode": "x"}}}], "podIPs": {}, "hard": {"a": {}},
                          "loadBalancer": {"ingress": [{"ip": 1}]}, "addresses": [null]},
               "subsets": [{"addresses": "x", "ports": [{}]}], "endpoints": [{"addresses": [1]}], "series": {"count": "x"},
               "involvedObject": [], "regarding": 5, "subjects": [null], "webhooks": {}}),
    ];
    for (group, kind) in KINDS.iter().chain(&[("example.com", "Widget")]) {
        for object in &garbage {
            let table = table_for(
                group,
                kind,
                std::slice::from_ref(object),
                IncludeObject::Metadata,
                now(),
            );
            let row_cells = table["rows"][0]["cells"].as_array().unwrap();
            assert_eq!(
                row_cells.len(),
                columns_for(group, kind).len(),
                "{group}/{kind} on {object}"
            );
        }
    }
    let _ = custom_resource_table(&garbage, IncludeObject::Object, now());
}
