use serde_json::{Value, json};

use super::*;

fn r(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
    let s = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        verbs: s(verbs),
        api_groups: s(groups),
        resources: s(resources),
        resource_names: s(names),
        non_resource_urls: Vec::new(),
    }
}

fn url(verbs: &[&str], urls: &[&str]) -> PolicyRule {
    let s = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        verbs: s(verbs),
        non_resource_urls: s(urls),
        ..PolicyRule::default()
    }
}

fn res(verb: &str, group: &str, resource: &str, sub: &str, ns: &str, name: &str) -> Attributes {
    Attributes::resource(verb, group, resource, sub, ns, name)
}

#[test]
fn rule_matching_table() {
    let get_pods = r(&["get"], &[""], &["pods"], &[]);
    let star = r(&["*"], &["*"], &["*"], &[]);
    let pods_log = r(&["get"], &[""], &["pods/log"], &[]);
    let any_scale = r(&["update"], &["apps"], &["*/scale"], &[]);
    let named = r(&["get", "update"], &[""], &["configmaps"], &["cfg"]);
    let cases: Vec<(PolicyRule, Attributes, bool)> = vec![
        (
            get_pods.clone(),
            res("get", "", "pods", "", "default", "p"),
            true,
        ),
        (
            get_pods.clone(),
            res("list", "", "pods", "", "default", ""),
            false,
        ),
        (
            get_pods.clone(),
            res("get", "apps", "pods", "", "default", "p"),
            false,
        ),
        (
            get_pods.clone(),
            res("get", "", "pods", "log", "default", "p"),
            false,
        ),
        (
            get_pods.clone(),
            res("get", "", "services", "", "default", "p"),
            false,
        ),
        (
            star.clone(),
            res("deletecollection", "x.io", "widgets", "status", "", ""),
            true,
        ),
        (
            star.clone(),
            Attributes::non_resource("get", "/healthz"),
            false,
        ),
        (
            pods_log.clone(),
            res("get", "", "pods", "log", "ns", "p"),
            true,
        ),
        (
            pods_log.clone(),
            res("get", "", "pods", "", "ns", "p"),
            false,
        ),
        (
            pods_log.clone(),
            res("get", "", "pods", "exec", "ns", "p"),
            false,
        ),
        (
            any_scale.clone(),
            res("update", "apps", "deployments", "scale", "ns", "d"),
            true,
        ),
        (
            any_scale.clone(),
            res("update", "apps", "deployments", "", "ns", "d"),
            false,
        ),
        (
            named.clone(),
            res("get", "", "configmaps", "", "ns", "cfg"),
            true,
        ),
        (
            named.clone(),
            res("get", "", "configmaps", "", "ns", "other"),
            false,
        ),
        (
            named.clone(),
            res("list", "", "configmaps", "", "ns", ""),
            false,
        ),
        (
            named.clone(),
            res("update", "", "configmaps", "", "ns", ""),
            false,
        ),
        (
            url(&["get"], &["/healthz"]),
            Attributes::non_resource("get", "/healthz"),
            true,
        ),
        (
            url(&["get"], &["/healthz"]),
            Attributes::non_resource("post", "/healthz"),
            false,
        ),
        (
            url(&["get"], &["/healthz"]),
            Attributes::non_resource("get", "/healthz/etcd"),
            false,
        ),
        (
            url(&["get"], &["/api/*"]),
            Attributes::non_resource("get", "/api/v1"),
            true,
        ),
        (
            url(&["get"], &["/api/*"]),
            Attributes::non_resource("get", "/api"),
            false,
        ),
        (
            url(&["*"], &["*"]),
            Attributes::non_resource("delete", "/anything"),
            true,
        ),
        (
            url(&["get"], &["/healthz"]),
            res("get", "", "pods", "", "", ""),
            false,
        ),
    ];
    for (i, (rule, attrs, want)) in cases.iter().enumerate() {
        assert_eq!(rule.allows(attrs), *want, "case {i}: {rule:?} vs {attrs:?}");
    }
}

fn sa_user() -> UserInfo {
    UserInfo::new(
        "system:serviceaccount:default:sa",
        &[
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated",
        ],
    )
}

#[test]
fn bindings_and_subjects() {
    let role = json!({"metadata": {"name": "pod-reader", "namespace": "default"},
        "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]});
    let rb = json!({"metadata": {"name": "rb", "namespace": "default"},
        "roleRef": {"kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "sa"}]});
    let rb_other_ns = json!({"metadata": {"name": "rb", "namespace": "other"},
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "default"}]});
    let view = json!({"metadata": {"name": "view"},
        "rules": [{"verbs": ["get", "list", "watch"], "apiGroups": ["", "apps"], "resources": ["*"]}]});
    let user = sa_user();
    let list_pods = res("list", "", "pods", "", "default", "");
    let empty = Policy::default();
    assert!(!empty.allows(&user, &list_pods));
    let p = Policy::from_objects([&role], [&view], [&rb, &rb_other_ns], std::iter::empty());
    assert!(p.allows(&user, &list_pods));
    assert!(!p.allows(&user, &res("delete", "", "pods", "", "default", "x")));
    assert!(!p.allows(&user, &res("list", "", "pods", "", "kube-system", "")));
    assert!(p.allows(&user, &res("list", "apps", "deployments", "", "other", "")));
    assert!(!p.allows(&user, &res("list", "", "pods", "", "", "")));
    assert_eq!(
        p.authorize(&user, &list_pods).1,
        r#"RBAC: allowed by RoleBinding "rb/default" of Role "pod-reader" to ServiceAccount "sa/default""#
    );
    assert_eq!(
        p.authorize(&user, &res("get", "apps", "deployments", "", "other", "d"))
            .1,
        r#"RBAC: allowed by RoleBinding "rb/other" of ClusterRole "view" to ServiceAccount "sa/default""#
    );
    let other = UserInfo::new("system:serviceaccount:other:sa", &["system:authenticated"]);
    assert!(!p.allows(&other, &res("list", "apps", "deployments", "", "other", "")));
    // a binding to a missing role gives kube's reason
    let dangling = json!({"metadata": {"name": "d"},
        "roleRef": {"kind": "ClusterRole", "name": "gone"},
        "subjects": [{"kind": "Group", "name": "system:authenticated"}]});
    let p = Policy::from_objects([], [], [], [&dangling]);
    let (ok, reason) = p.authorize(&user, &list_pods);
    assert!(!ok);
    assert_eq!(
        reason,
        r#"RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found"#
    );
    let (rules, errors) = p.rules_for(&user, "default");
    assert!(rules.is_empty());
    assert_eq!(errors.len(), 1);
}

#[test]
fn forbidden_messages_as_kube() {
    let u = "system:serviceaccount:default:sa";
    assert_eq!(
        res("list", "", "pods", "", "default", "").forbidden_message(u, ""),
        r#"pods is forbidden: User "system:serviceaccount:default:sa" cannot list resource "pods" in API group "" in the namespace "default""#
    );
    assert_eq!(
        res("get", "apps", "deployments", "scale", "ns", "web").forbidden_message("bob", ""),
        r#"deployments.apps "web" is forbidden: User "bob" cannot get resource "deployments/scale" in API group "apps" in the namespace "ns""#
    );
    assert_eq!(
        res("list", "", "nodes", "", "", "").forbidden_message("bob", ""),
        r#"nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope"#
    );
    assert_eq!(
        Attributes::non_resource("get", "/metrics").forbidden_message("bob", ""),
        r#"forbidden: User "bob" cannot get path "/metrics""#
    );
}

#[test]
fn escalation_coverage() {
    let owner = vec![
        r(&["get", "list"], &[""], &["pods", "configmaps"], &[]),
        r(
            &["*"],
            &["apps"],
            &["deployments", "deployments/scale"],
            &[],
        ),
        r(&["get"], &[""], &["*/status"], &[]),
        r(&["update"], &[""], &["secrets"], &["only"]),
        url(&["get"], &["/api/*"]),
    ];
    let ok = |servant: Vec<PolicyRule>| covers(&owner, &servant).0;
    assert!(ok(vec![r(&["get"], &[""], &["pods"], &[])]));
    assert!(ok(vec![r(&["get"], &[""], &["pods"], &["a", "b"])]));
    assert!(ok(vec![r(
        &["delete", "patch"],
        &["apps"],
        &["deployments/scale"],
        &[]
    )]));
    assert!(ok(vec![r(
        &["get"],
        &[""],
        &["pods/status", "services/status"],
        &[]
    )]));
    assert!(ok(vec![r(&["update"], &[""], &["secrets"], &["only"])]));
    assert!(ok(vec![url(&["get"], &["/api/v1", "/api/*"])]));
    assert!(ok(vec![]));
    assert!(!ok(vec![r(&["delete"], &[""], &["pods"], &[])]));
    assert!(!ok(vec![r(&["get"], &["*"], &["pods"], &[])]));
    assert!(!ok(vec![r(&["get"], &[""], &["*"], &[])]));
    assert!(!ok(vec![r(&["update"], &[""], &["secrets"], &[])]));
    assert!(!ok(vec![r(&["get"], &[""], &["pods/log"], &[])]));
    assert!(!ok(vec![url(&["get"], &["/apis"])]));
    assert!(!ok(vec![url(&["post"], &["/api/v1"])]));
    let star = vec![r(&["*"], &["*"], &["*"], &[]), url(&["*"], &["*"])];
    assert!(covers(&star, &owner).0);

    let (_, missing) = covers(
        &owner,
        &[r(&["get", "delete"], &[""], &["pods", "secrets"], &[])],
    );
    assert_eq!(
        missing
            .iter()
            .map(PolicyRule::compact_string)
            .collect::<Vec<_>>(),
        [
            r#"{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}"#,
            r#"{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}"#,
            r#"{APIGroups:[""], Resources:["secrets"], Verbs:["delete"]}"#,
        ]
    );
    let user = UserInfo::new("bob", &["dev", "system:authenticated"]);
    assert_eq!(
        escalation_message(&user, &missing[..1], &[]),
        "user \"bob\" (groups=[\"dev\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}"
    );
}

fn names(v: &[Value]) -> Vec<&str> {
    v.iter()
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect()
}

#[test]
fn bootstrap_aggregation_fills_admin_edit_view() {
    let roles = bootstrap::cluster_roles();
    for want in [
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:discovery",
        "system:basic-user",
        "system:public-info-viewer",
    ] {
        assert!(names(&roles).contains(&want), "{want}");
    }
    let updates = aggregation::aggregate(&roles);
    let get = |n: &str| {
        updates
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, r)| r.clone())
            .expect(n)
    };
    let (view, edit, admin) = (get("view"), get("edit"), get("admin"));
    let can = |rules: &[PolicyRule], a: &Attributes| rules.iter().any(|r| r.allows(a));
    let list_pods = res("list", "", "pods", "", "ns", "");
    let create_pods = res("create", "", "pods", "", "ns", "");
    let create_rb = res(
        "create",
        "rbac.authorization.k8s.io",
        "rolebindings",
        "",
        "ns",
        "",
    );
    assert!(
        can(&view, &list_pods)
            && !can(&view, &create_pods)
            && !can(&view, &res("get", "", "secrets", "", "ns", "s"))
    );
    assert!(can(&edit, &list_pods) && can(&edit, &create_pods) && !can(&edit, &create_rb));
    assert!(can(&admin, &list_pods) && can(&admin, &create_pods) && can(&admin, &create_rb));
    assert!(covers(&admin, &edit).0 && covers(&edit, &view).0 && !covers(&view, &edit).0);

    // Applying the updates reaches the fixed point: nothing more to change.
    let mut settled = roles.clone();
    for (name, rules) in &updates {
        let role = settled
            .iter_mut()
            .find(|r| r["metadata"]["name"] == name.as_str())
            .expect("role");
        role["rules"] = json!(rules.iter().map(PolicyRule::to_json).collect::<Vec<_>>());
    }
    assert!(aggregation::aggregate(&settled).is_empty());

    // A new labelled role joins view (and through it edit and admin).
    let mut with_extra = settled.clone();
    with_extra.push(json!({"metadata": {"name": "widgets-view", "labels": {bootstrap::AGGREGATE_TO_VIEW: "true"}},
        "rules": [{"verbs": ["get"], "apiGroups": ["example.com"], "resources": ["widgets"]}]}));
    let updates = aggregation::aggregate(&with_extra);
    let mut changed: Vec<&str> = updates.iter().map(|(n, _)| n.as_str()).collect();
    changed.sort();
    assert_eq!(changed, ["admin", "edit", "view"]);

    // Default bindings: any authenticated user may discover and review itself, not more.
    let settled_policy = Policy::from_objects(
        [],
        settled.iter(),
        [],
        bootstrap::cluster_role_bindings().iter(),
    );
    let user = sa_user();
    assert!(settled_policy.allows(&user, &Attributes::non_resource("get", "/apis/apps/v1")));
    assert!(settled_policy.allows(
        &user,
        &res(
            "create",
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            "",
            "",
            ""
        )
    ));
    assert!(!settled_policy.allows(&user, &list_pods));
    let master = UserInfo::new("system:admin", &["system:masters"]);
    assert!(settled_policy.allows(&master, &res("delete", "", "nodes", "", "", "n")));
}

#[test]
fn service_account_names() {
    assert_eq!(
        service_account_of("system:serviceaccount:ns:sa"),
        Some(("ns", "sa"))
    );
    assert_eq!(service_account_of("system:serviceaccount:ns"), None);
    assert_eq!(service_account_of("bob"), None);
    assert_eq!(
        service_account_username("a", "b"),
        "system:serviceaccount:a:b"
    );
    let u = UserInfo::new("bob", &[]).with_authenticated_group();
    assert_eq!(u.groups, ["system:authenticated"]);
}
