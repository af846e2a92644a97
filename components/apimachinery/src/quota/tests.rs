use super::*;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

fn list(pairs: &[(&str, &str)]) -> ResourceList {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Quantity::parse(v).expect("quantity")))
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn pod(containers: Value) -> Value {
    json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": containers}})
}

fn quota(name: &str, hard: Value, used: Value) -> QuotaState {
    QuotaState::from_json(&json!({
        "metadata": {"name": name},
        "spec": {"hard": hard},
        "status": {"hard": hard, "used": used},
    }))
}

#[test]
fn pod_usage_sums_containers_and_takes_init_maximum() {
    let p = json!({"spec": {
        "containers": [
            {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m"}}},
            {"name": "b", "resources": {"requests": {"cpu": "200m", "memory": "64Mi"}}},
        ],
        "initContainers": [
            {"name": "i", "resources": {"requests": {"cpu": "1", "memory": "32Mi"}}},
        ],
    }});
    assert_eq!(
        list_to_json(&Evaluator::Pods.usage(&p, now())),
        json!({
            "count/pods": "1", "cpu": "1", "limits.cpu": "500m", "memory": "128Mi",
            "pods": "1", "requests.cpu": "1", "requests.memory": "128Mi",
        })
    );
    // a sidecar adds to the regular containers
    let p = json!({"spec": {
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
        "initContainers": [{"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}}],
        "overhead": {"cpu": "10m"},
    }});
    assert_eq!(pod_totals(&p, "requests"), list(&[("cpu", "160m")]));
    // finished pods only count as objects
    let mut done = pod(json!([{"name": "a", "resources": {"requests": {"cpu": "1"}}}]));
    done["status"] = json!({"phase": "Succeeded"});
    assert_eq!(
        Evaluator::Pods.usage(&done, now()),
        list(&[("count/pods", "1")])
    );
    // deleting pods stop counting once their grace period is over
    let mut gone = pod(json!([{"name": "a"}]));
    gone["metadata"]["deletionTimestamp"] = json!("2025-12-31T23:59:00Z");
    gone["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    assert!(!Evaluator::Pods.usage(&gone, now()).contains_key("pods"));
    gone["metadata"]["deletionGracePeriodSeconds"] = json!(120);
    assert!(Evaluator::Pods.usage(&gone, now()).contains_key("pods"));
}

#[test]
fn service_and_claim_usage() {
    let svc = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}});
    assert_eq!(
        list_to_json(&Evaluator::Services.usage(&svc, now())),
        json!({"count/services": "1", "services": "1", "services.loadbalancers": "0", "services.nodeports": "2"})
    );
    let lb = json!({"spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false,
        "ports": [{"port": 80, "nodePort": 30001}, {"port": 443}]}});
    assert_eq!(
        list_to_json(&Evaluator::Services.usage(&lb, now())),
        json!({"count/services": "1", "services": "1", "services.loadbalancers": "1", "services.nodeports": "1"})
    );
    let pvc = json!({"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}});
    assert_eq!(
        list_to_json(&Evaluator::PersistentVolumeClaims.usage(&pvc, now())),
        json!({
            "count/persistentvolumeclaims": "1",
            "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
            "fast.storageclass.storage.k8s.io/requests.storage": "1Gi",
            "persistentvolumeclaims": "1",
            "requests.storage": "1Gi",
        })
    );
    let cm = Evaluator::for_resource("", "configmaps");
    assert_eq!(
        cm.usage(&json!({}), now()),
        list(&[("configmaps", "1"), ("count/configmaps", "1")])
    );
    let deploy = Evaluator::for_resource("apps", "deployments");
    assert_eq!(
        deploy.matching_resources(&names(&["count/deployments.apps", "pods"])),
        names(&["count/deployments.apps"])
    );
}

#[test]
fn evaluators_for_hard_limits() {
    let found = Evaluator::for_hard(&names(&[
        "pods",
        "requests.cpu",
        "count/deployments.apps",
        "count/secrets",
        "configmaps",
        "unknown",
    ]));
    let grs: Vec<(&str, &str)> = found.iter().map(Evaluator::group_resource).collect();
    assert_eq!(
        grs,
        [
            ("", "pods"),
            ("", "configmaps"),
            ("", "secrets"),
            ("apps", "deployments")
        ]
    );
}

#[test]
fn exceeded_quota_is_refused_with_kubes_message() {
    let q = quota("q1", json!({"pods": "2"}), json!({"pods": "2"}));
    let p = pod(json!([{"name": "c"}]));
    let err = check_request(&[q], &Evaluator::Pods, Operation::Create, &p, None, now())
        .expect_err("over quota");
    assert_eq!(
        err,
        "exceeded quota: q1, requested: pods=1, used: pods=2, limited: pods=2"
    );

    let q = quota(
        "compute",
        json!({"requests.cpu": "1", "requests.memory": "1Gi", "pods": "10"}),
        json!({"requests.cpu": "800m", "requests.memory": "512Mi", "pods": "3"}),
    );
    let p =
        pod(json!([{"name": "c", "resources": {"requests": {"cpu": "300m", "memory": "128Mi"}}}]));
    let err = check_request(
        std::slice::from_ref(&q),
        &Evaluator::Pods,
        Operation::Create,
        &p,
        None,
        now(),
    )
    .expect_err("over cpu");
    assert_eq!(
        err,
        "exceeded quota: compute, requested: requests.cpu=300m, used: requests.cpu=800m, limited: requests.cpu=1"
    );
    let p =
        pod(json!([{"name": "c", "resources": {"requests": {"cpu": "200m", "memory": "128Mi"}}}]));
    let charged =
        check_request(&[q], &Evaluator::Pods, Operation::Create, &p, None, now()).expect("fits");
    assert_eq!(
        charged[0].as_ref().map(list_to_json),
        Some(json!({"pods": "4", "requests.cpu": "1", "requests.memory": "640Mi"}))
    );
}

#[test]
fn compute_quota_requires_containers_to_state_resources() {
    let q = quota(
        "q1",
        json!({"limits.cpu": "2", "requests.memory": "1Gi"}),
        json!({"limits.cpu": "0", "requests.memory": "0"}),
    );
    let p = pod(json!([
        {"name": "b", "resources": {"requests": {"memory": "10Mi"}}},
        {"name": "a"},
    ]));
    let err = check_request(&[q], &Evaluator::Pods, Operation::Create, &p, None, now())
        .expect_err("missing");
    assert_eq!(
        err,
        "failed quota: q1: must specify limits.cpu for: a,b; requests.memory for: a"
    );
}

#[test]
fn quota_without_status_refuses_until_measured() {
    let q = QuotaState::from_json(&json!({"metadata": {"name": "q1"},
        "status": {"hard": {"pods": "2", "services": "1"}}}));
    let err = check_request(
        &[q],
        &Evaluator::Pods,
        Operation::Create,
        &pod(json!([])),
        None,
        now(),
    )
    .expect_err("unknown");
    assert_eq!(err, "status unknown for quota: q1, resources: pods");
}

#[test]
fn scopes_select_pods() {
    let hard = json!({"pods": "1"});
    let best_effort = QuotaState::from_json(&json!({"metadata": {"name": "be"},
        "spec": {"hard": hard, "scopes": ["BestEffort"]},
        "status": {"hard": hard, "used": {"pods": "1"}}}));
    let guaranteed = pod(json!([{"name": "c", "resources": {"requests": {"cpu": "1"}}}]));
    let charged = check_request(
        std::slice::from_ref(&best_effort),
        &Evaluator::Pods,
        Operation::Create,
        &guaranteed,
        None,
        now(),
    )
    .expect("not in scope");
    assert_eq!(charged, vec![None]);
    assert!(
        check_request(
            &[best_effort],
            &Evaluator::Pods,
            Operation::Create,
            &pod(json!([{"name": "c"}])),
            None,
            now()
        )
        .is_err()
    );
    // services are never in a scoped quota
    let scoped = scope_requirements(&json!({"spec": {"scopes": ["NotTerminating"]}}));
    assert!(!Evaluator::Services.matches(&names(&["services"]), &scoped, &json!({})));
    let priority = scope_requirements(&json!({"spec": {"scopeSelector": {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}}));
    let mut p = pod(json!([]));
    assert!(!Evaluator::Pods.matches(&names(&["pods"]), &priority, &p));
    p["spec"]["priorityClassName"] = json!("high");
    assert!(Evaluator::Pods.matches(&names(&["pods"]), &priority, &p));
    let mut t = pod(json!([]));
    t["spec"]["activeDeadlineSeconds"] = json!(30);
    let terminating = scope_requirements(&json!({"spec": {"scopes": ["Terminating"]}}));
    assert!(Evaluator::Pods.matches(&names(&["pods"]), &terminating, &t));
}

#[test]
fn updates_charge_only_the_increase() {
    let q = quota(
        "q1",
        json!({"services.nodeports": "1"}),
        json!({"services.nodeports": "0"}),
    );
    let old = json!({"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}});
    let new = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}});
    let err = check_request(
        std::slice::from_ref(&q),
        &Evaluator::Services,
        Operation::Update,
        &new,
        Some(&old),
        now(),
    )
    .expect_err("two node ports");
    assert_eq!(
        err,
        "exceeded quota: q1, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1"
    );
    // an update that changes nothing measured is not charged
    assert_eq!(
        check_request(
            &[q],
            &Evaluator::Services,
            Operation::Update,
            &old,
            Some(&old),
            now()
        ),
        Ok(vec![None])
    );
}

#[test]
fn controller_usage_and_status() {
    let pods = [
        pod(json!([{"name": "a", "resources": {"requests": {"cpu": "100m"}}}])),
        pod(json!([{"name": "b", "resources": {"requests": {"cpu": "250m"}}}])),
    ];
    let resources = names(&["pods", "requests.cpu", "requests.memory"]);
    let measured = Evaluator::Pods.usage_stats(&resources, &[], pods.iter(), now());
    let hard = list(&[
        ("pods", "10"),
        ("requests.cpu", "1"),
        ("requests.memory", "1Gi"),
        ("secrets", "5"),
    ]);
    let previous = list(&[("pods", "7"), ("stale", "1"), ("secrets", "2")]);
    assert_eq!(
        list_to_json(&sync_used(&previous, &hard, &measured)),
        json!({"pods": "2", "requests.cpu": "350m", "requests.memory": "0", "secrets": "2"})
    );
}
