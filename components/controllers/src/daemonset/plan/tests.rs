use super::*;
use k8s_openapi::api::core::v1::NodeSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn node(name: &str, labels: &[(&str, &str)], taints: &[(&str, &str, &str)]) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            taints: Some(
                taints
                    .iter()
                    .map(|(k, v, e)| Taint {
                        key: k.to_string(),
                        value: (!v.is_empty()).then(|| v.to_string()),
                        effect: e.to_string(),
                        time_added: None,
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        status: None,
    }
}

fn toleration(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
    Toleration {
        key: (!key.is_empty()).then(|| key.to_string()),
        operator: (!op.is_empty()).then(|| op.to_string()),
        value: (!value.is_empty()).then(|| value.to_string()),
        effect: (!effect.is_empty()).then(|| effect.to_string()),
        toleration_seconds: None,
    }
}

fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
    }
}

fn with_affinity(terms: Vec<NodeSelectorTerm>) -> PodSpec {
    PodSpec {
        affinity: Some(Affinity {
            node_affinity: Some(NodeAffinity {
                required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                    node_selector_terms: terms,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn toleration_matching() {
    let taint = Taint {
        key: "dedicated".into(),
        value: Some("gpu".into()),
        effect: "NoSchedule".into(),
        time_added: None,
    };
    assert!(tolerates(
        &toleration("dedicated", "Equal", "gpu", "NoSchedule"),
        &taint
    ));
    assert!(tolerates(&toleration("dedicated", "", "gpu", ""), &taint));
    assert!(tolerates(
        &toleration("dedicated", "Exists", "", ""),
        &taint
    ));
    assert!(tolerates(&toleration("", "Exists", "", ""), &taint));
    assert!(!tolerates(
        &toleration("dedicated", "Equal", "cpu", "NoSchedule"),
        &taint
    ));
    assert!(!tolerates(
        &toleration("dedicated", "Exists", "", "NoExecute"),
        &taint
    ));
    assert!(!tolerates(&toleration("other", "Exists", "", ""), &taint));
    assert!(!tolerates(&toleration("dedicated", "Gt", "1", ""), &taint));
}

#[test]
fn daemon_tolerations_are_added_once_in_kube_order() {
    let mut spec = PodSpec {
        tolerations: Some(vec![
            toleration("mine", "Exists", "", ""),
            toleration(NOT_READY, "Exists", "", "NoExecute"),
        ]),
        ..Default::default()
    };
    add_daemon_tolerations(&mut spec);
    add_daemon_tolerations(&mut spec);
    let keys: Vec<(String, String)> = spec
        .tolerations
        .iter()
        .flatten()
        .map(|t| {
            (
                t.key.clone().unwrap_or_default(),
                t.effect.clone().unwrap_or_default(),
            )
        })
        .collect();
    let want = [
        ("mine", ""),
        (NOT_READY, "NoExecute"),
        (UNREACHABLE, "NoExecute"),
        (DISK_PRESSURE, "NoSchedule"),
        (MEMORY_PRESSURE, "NoSchedule"),
        (PID_PRESSURE, "NoSchedule"),
        (UNSCHEDULABLE, "NoSchedule"),
    ];
    assert_eq!(
        keys,
        want.map(|(k, e)| (k.to_string(), e.to_string())).to_vec()
    );
    let mut host = PodSpec {
        host_network: Some(true),
        ..Default::default()
    };
    add_daemon_tolerations(&mut host);
    assert_eq!(
        host.tolerations
            .expect("tolerations")
            .last()
            .and_then(|t| t.key.clone()),
        Some(NETWORK_UNAVAILABLE.to_string())
    );
}

#[test]
fn nodes_matching_selector_and_affinity() {
    let n = node("n1", &[("disk", "ssd"), ("cores", "8")], &[]);
    let sel = PodSpec {
        node_selector: Some([("disk".to_string(), "ssd".to_string())].into()),
        ..Default::default()
    };
    assert_eq!(node_should_run(&n, &sel), (true, true));
    let other = PodSpec {
        node_selector: Some([("disk".to_string(), "hdd".to_string())].into()),
        ..Default::default()
    };
    assert_eq!(node_should_run(&n, &other), (false, false));
    // terms are ORed, requirements within a term ANDed
    let spec = with_affinity(vec![
        NodeSelectorTerm {
            match_expressions: Some(vec![req("disk", "In", &["hdd"])]),
            match_fields: None,
        },
        NodeSelectorTerm {
            match_expressions: Some(vec![
                req("cores", "Gt", &["4"]),
                req("gpu", "DoesNotExist", &[]),
            ]),
            match_fields: None,
        },
    ]);
    assert!(affinity_matches(&spec, &n));
    let spec = with_affinity(vec![NodeSelectorTerm {
        match_expressions: Some(vec![req("cores", "Lt", &["4"])]),
        match_fields: None,
    }]);
    assert!(!affinity_matches(&spec, &n));
    // the node's name through matchFields
    let by_name = |name: &str| {
        with_affinity(vec![NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.name", "In", &[name])]),
        }])
    };
    assert!(affinity_matches(&by_name("n1"), &n));
    assert!(!affinity_matches(&by_name("n2"), &n));
    // an empty term, or no terms at all, match nothing
    assert!(!affinity_matches(
        &with_affinity(vec![NodeSelectorTerm::default()]),
        &n
    ));
    assert!(!affinity_matches(&with_affinity(vec![]), &n));
    // a template pinned to another node by name
    let pinned = PodSpec {
        node_name: Some("n2".into()),
        ..Default::default()
    };
    assert_eq!(node_should_run(&n, &pinned), (false, false));
}

#[test]
fn taints_keep_daemon_pods_away_unless_tolerated() {
    let spec = PodSpec::default();
    // the default daemon tolerations cover pressure and cordoned nodes
    let pressure = node(
        "n",
        &[],
        &[
            (MEMORY_PRESSURE, "", "NoSchedule"),
            (UNSCHEDULABLE, "", "NoSchedule"),
        ],
    );
    assert_eq!(node_should_run(&pressure, &spec), (true, true));
    // an untolerated NoSchedule taint: no new pod, an existing one stays
    let dedicated = node("n", &[], &[("dedicated", "db", "NoSchedule")]);
    assert_eq!(node_should_run(&dedicated, &spec), (false, true));
    // an untolerated NoExecute taint: the pod goes too
    let evict = node("n", &[], &[("dedicated", "db", "NoExecute")]);
    assert_eq!(node_should_run(&evict, &spec), (false, false));
    // PreferNoSchedule does not count
    let soft = node("n", &[], &[("dedicated", "db", "PreferNoSchedule")]);
    assert_eq!(node_should_run(&soft, &spec), (true, true));
    // tolerated
    let tolerant = PodSpec {
        tolerations: Some(vec![toleration("dedicated", "Equal", "db", "")]),
        ..Default::default()
    };
    assert_eq!(node_should_run(&evict, &tolerant), (true, true));
    // not-ready NoSchedule (a new node) is not among the daemon tolerations
    let new = node("n", &[], &[(NOT_READY, "", "NoSchedule")]);
    assert_eq!(node_should_run(&new, &spec), (false, true));
}

#[test]
fn pods_are_pinned_to_their_node() {
    let user = with_affinity(vec![NodeSelectorTerm {
        match_expressions: Some(vec![req("disk", "In", &["ssd"])]),
        match_fields: None,
    }]);
    let a = pin_to_node(user.affinity.clone(), "n1");
    let spec = PodSpec {
        affinity: Some(a),
        ..Default::default()
    };
    assert_eq!(target_node(&spec), Some("n1".to_string()));
    let terms = &spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .expect("required")
        .node_selector_terms;
    assert_eq!(
        terms,
        &vec![NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.name", "In", &["n1"])]),
        }]
    );
    let bound = PodSpec {
        node_name: Some("n2".into()),
        ..spec.clone()
    };
    assert_eq!(target_node(&bound), Some("n2".to_string()));
    assert_eq!(target_node(&PodSpec::default()), None);
    assert_eq!(
        pin_to_node(None, "x")
            .node_affinity
            .and_then(|n| n.required_during_scheduling_ignored_during_execution),
        Some(NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm {
                match_expressions: None,
                match_fields: Some(vec![req("metadata.name", "In", &["x"])]),
            }]
        })
    );
}

fn pod(name: &str, created: i64, new: bool) -> PodInfo {
    PodInfo {
        name: name.into(),
        scheduled: true,
        created,
        phase: "Running".into(),
        deleting: false,
        ready: true,
        available: true,
        hash_matches: new,
        generation_matches: false,
    }
}

fn unavailable(mut p: PodInfo) -> PodInfo {
    p.ready = false;
    p.available = false;
    p
}

#[test]
fn one_pod_per_node() {
    assert_eq!(
        pods_should_be_on_node(true, true, &[], false),
        NodeWork {
            create: true,
            ..Default::default()
        }
    );
    // extra pods: all but the oldest go
    let pods = [pod("b", 20, true), pod("a", 10, true), pod("c", 10, true)];
    assert_eq!(
        pods_should_be_on_node(true, true, &pods, false).delete,
        ["c", "b"]
    );
    // a node that should not keep one loses all (those being deleted already aside)
    let mut going = pod("d", 5, true);
    going.deleting = true;
    assert_eq!(
        pods_should_be_on_node(false, false, &[pod("a", 1, true), going], false).delete,
        ["a"]
    );
    // failed pods are reported for deletion, succeeded ones deleted
    let mut failed = pod("f", 1, true);
    failed.phase = "Failed".into();
    let mut done = pod("s", 2, true);
    done.phase = "Succeeded".into();
    let w = pods_should_be_on_node(true, true, &[failed, done], false);
    assert_eq!(
        (w.create, w.failed, w.delete),
        (false, vec!["f".to_string()], vec!["s".to_string()])
    );
    // an untolerated NoSchedule taint keeps the existing pod
    assert_eq!(
        pods_should_be_on_node(false, true, &[pod("a", 1, true)], false),
        NodeWork::default()
    );
    // a deleted pod is waited for before its replacement is created
    let mut terminating = pod("t", 1, false);
    terminating.deleting = true;
    assert_eq!(
        pods_should_be_on_node(true, true, &[terminating], false),
        NodeWork::default()
    );
}

#[test]
fn surge_keeps_old_until_new_is_available() {
    let old = pod("old", 1, false);
    let new_unavailable = unavailable(pod("new", 2, true));
    assert_eq!(
        pods_should_be_on_node(true, true, &[old.clone(), new_unavailable], true),
        NodeWork::default()
    );
    let w = pods_should_be_on_node(true, true, &[old.clone(), pod("new", 2, true)], true);
    assert_eq!(w.delete, ["old"]);
    // the old one not ready: it goes at once
    let w = pods_should_be_on_node(
        true,
        true,
        &[unavailable(old), unavailable(pod("new", 2, true))],
        true,
    );
    assert_eq!(w.delete, ["old"]);
    // with surge a node whose pod is being deleted gets a new one at once
    let mut terminating = pod("t", 1, false);
    terminating.deleting = true;
    assert!(pods_should_be_on_node(true, true, &[terminating], true).create);
}

#[test]
fn limits() {
    let pct = |s: &str| IntOrString::String(s.into());
    assert_eq!(
        surge_and_unavailable(None, Some(&IntOrString::Int(1)), 3),
        Ok((0, 1))
    );
    assert_eq!(
        surge_and_unavailable(Some(&pct("50%")), Some(&IntOrString::Int(0)), 3),
        Ok((2, 0))
    );
    assert_eq!(
        surge_and_unavailable(None, Some(&pct("10%")), 3),
        Ok((0, 1))
    );
    assert_eq!(surge_and_unavailable(None, Some(&pct("0%")), 3), Ok((0, 1)));
    assert_eq!(surge_and_unavailable(None, Some(&pct("0%")), 0), Ok((0, 0)));
    assert!(surge_and_unavailable(None, Some(&pct("x")), 3).is_err());
}

fn on(node: &str, pods: Vec<PodInfo>) -> NodePods {
    NodePods {
        node: node.into(),
        should_run: true,
        pods,
    }
}

#[test]
fn rolling_update_within_max_unavailable() {
    let nodes = vec![
        on("n1", vec![pod("a", 1, false)]),
        on("n2", vec![pod("b", 1, false)]),
        on("n3", vec![pod("c", 1, false)]),
    ];
    assert_eq!(
        rolling_update(&nodes, 0, 1, 3),
        Rollout {
            delete: vec!["a".into()],
            create_on: vec![],
        }
    );
    assert_eq!(rolling_update(&nodes, 0, 2, 3).delete, ["a", "b"]);
    // a node waiting for its new pod uses up the budget
    let nodes = vec![
        on("n1", vec![]),
        on("n2", vec![pod("b", 1, false)]),
        on("n3", vec![pod("c", 1, false)]),
    ];
    assert!(rolling_update(&nodes, 0, 1, 3).delete.is_empty());
    // an unavailable new pod too; an unavailable old one is replaced regardless
    let nodes = vec![
        on("n1", vec![unavailable(pod("a", 1, true))]),
        on("n2", vec![unavailable(pod("b", 1, false))]),
        on("n3", vec![pod("c", 1, false)]),
    ];
    assert_eq!(rolling_update(&nodes, 0, 1, 3).delete, ["b"]);
    // all updated: nothing to do
    let nodes = vec![on("n1", vec![pod("a", 1, true)])];
    assert_eq!(rolling_update(&nodes, 0, 1, 1), Rollout::default());
}

#[test]
fn rolling_update_with_surge() {
    let nodes = vec![
        on("n1", vec![pod("a", 1, false)]),
        on("n2", vec![pod("b", 1, false)]),
        on("n3", vec![unavailable(pod("c", 1, false))]),
    ];
    // n3's unavailable old pod gets a new one at once; one more surges
    assert_eq!(
        rolling_update(&nodes, 1, 0, 3),
        Rollout {
            delete: vec![],
            create_on: vec!["n3".into(), "n1".into()],
        }
    );
    // a surged node whose new pod is available loses its old pod
    let nodes = vec![
        on("n1", vec![pod("a", 1, false), pod("a2", 2, true)]),
        on(
            "n2",
            vec![pod("b", 1, false), unavailable(pod("b2", 2, true))],
        ),
        on("n3", vec![pod("c", 1, false)]),
    ];
    assert_eq!(
        rolling_update(&nodes, 1, 0, 3),
        Rollout {
            delete: vec!["a".into()],
            create_on: vec![],
        }
    );
    // a node that should no longer run its pod loses it only while enough others are up
    let mut gone = on("n4", vec![pod("d", 1, false)]);
    gone.should_run = false;
    let nodes = vec![on("n1", vec![pod("a", 1, true)]), gone.clone()];
    assert_eq!(rolling_update(&nodes, 1, 0, 2).delete, Vec::<String>::new());
    assert_eq!(rolling_update(&nodes, 1, 0, 1).delete, ["d"]);
}

#[test]
fn status_counts() {
    let mut unscheduled = unavailable(pod("u", 1, false));
    unscheduled.scheduled = false;
    let nodes = vec![
        (true, vec![pod("a", 1, true)]),
        (true, vec![unavailable(pod("b", 1, false))]),
        (true, vec![]),
        (false, vec![pod("d", 1, true)]),
        (false, vec![]),
        // the scheduled pod counts before an unscheduled one
        (true, vec![unscheduled, pod("e", 5, true)]),
    ];
    assert_eq!(
        counts(&nodes),
        Counts {
            desired: 4,
            current: 3,
            misscheduled: 1,
            ready: 2,
            updated: 2,
            available: 2,
            unavailable: 2,
        }
    );
}

#[test]
fn unscheduled_pods_of_missing_nodes() {
    let mut pending = pod("p", 1, true);
    pending.scheduled = false;
    let by_node: BTreeMap<String, Vec<PodInfo>> = [
        ("gone".to_string(), vec![pending, pod("bound", 1, true)]),
        ("n1".to_string(), vec![pod("x", 1, true)]),
    ]
    .into();
    assert_eq!(
        unscheduled_without_node(&["n1".to_string()], &by_node),
        ["p"]
    );
}
