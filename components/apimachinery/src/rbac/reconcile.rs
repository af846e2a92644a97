//! kube-apiserver's start-up reconciliation of the default policy: a bootstrap ClusterRole or
//! ClusterRoleBinding that exists is brought up to date (missing rules, aggregation selectors,
//! subjects, labels and annotations added; nothing removed) unless its
//! `rbac.authorization.kubernetes.io/autoupdate` annotation is `"false"`.

use serde_json::{Map, Value, json};

use super::{PolicyRule, covers};

pub const AUTOUPDATE: &str = "rbac.authorization.kubernetes.io/autoupdate";

/// What to do with an existing default object.
#[derive(Debug, PartialEq)]
pub enum Reconciled {
    /// Up to date, or protected by `autoupdate: "false"`.
    Keep,
    /// Write this object (the existing one with what was missing added).
    Update(Value),
    /// The binding points at another role; roleRef is immutable, so delete and create anew.
    Recreate,
}

fn protected(existing: &Value) -> bool {
    existing["metadata"]["annotations"][AUTOUPDATE] == "false"
}

/// Adds the expected labels and annotations that are missing or different.
fn merge_meta(out: &mut Value, expected: &Value) -> bool {
    let mut changed = false;
    for key in ["labels", "annotations"] {
        let Some(want) = expected["metadata"][key].as_object() else {
            continue;
        };
        if !out["metadata"][key].is_object() {
            out["metadata"][key] = Value::Object(Map::new());
        }
        for (k, v) in want {
            if out["metadata"][key].get(k) != Some(v) {
                out["metadata"][key][k] = v.clone();
                changed = true;
            }
        }
    }
    changed
}

/// Reconciles an existing default ClusterRole with the bootstrap one.
pub fn cluster_role(existing: &Value, expected: &Value) -> Reconciled {
    if protected(existing) {
        return Reconciled::Keep;
    }
    let mut out = existing.clone();
    let mut changed = merge_meta(&mut out, expected);
    let have = PolicyRule::list_from(existing);
    let want = PolicyRule::list_from(expected);
    let (covered, missing) = covers(&have, &want);
    if !covered {
        let mut rules: Vec<Value> = existing["rules"].as_array().cloned().unwrap_or_default();
        rules.extend(missing.iter().map(PolicyRule::to_json));
        out["rules"] = Value::Array(rules);
        changed = true;
    }
    if let Some(want_sel) = expected["aggregationRule"]["clusterRoleSelectors"].as_array() {
        let mut sel: Vec<Value> = existing["aggregationRule"]["clusterRoleSelectors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for s in want_sel {
            if !sel.contains(s) {
                sel.push(s.clone());
                changed = true;
            }
        }
        out["aggregationRule"] = json!({"clusterRoleSelectors": sel});
    }
    if changed {
        Reconciled::Update(out)
    } else {
        Reconciled::Keep
    }
}

/// Reconciles an existing default ClusterRoleBinding with the bootstrap one.
pub fn cluster_role_binding(existing: &Value, expected: &Value) -> Reconciled {
    if protected(existing) {
        return Reconciled::Keep;
    }
    if existing["roleRef"] != expected["roleRef"] {
        return Reconciled::Recreate;
    }
    let mut out = existing.clone();
    let mut changed = merge_meta(&mut out, expected);
    let mut subjects: Vec<Value> = existing["subjects"].as_array().cloned().unwrap_or_default();
    for s in expected["subjects"].as_array().into_iter().flatten() {
        if !subjects.contains(s) {
            subjects.push(s.clone());
            changed = true;
        }
    }
    if changed {
        out["subjects"] = Value::Array(subjects);
        Reconciled::Update(out)
    } else {
        Reconciled::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(rules: Value, annotations: Value) -> Value {
        json!({"kind": "ClusterRole", "metadata": {"name": "view", "annotations": annotations,
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}, "rules": rules})
    }

    #[test]
    fn missing_rules_are_added_extra_ones_kept() {
        let expected = role(
            json!([{"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list"]}]),
            json!({AUTOUPDATE: "true"}),
        );
        let existing = role(
            json!([
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                {"apiGroups": ["x.io"], "resources": ["things"], "verbs": ["get"]}
            ]),
            json!({AUTOUPDATE: "true"}),
        );
        let Reconciled::Update(out) = cluster_role(&existing, &expected) else {
            panic!("expected an update");
        };
        assert_eq!(
            out["rules"],
            json!([
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                {"apiGroups": ["x.io"], "resources": ["things"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["services"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["services"], "verbs": ["list"]}
            ])
        );
        assert_eq!(cluster_role(&out, &expected), Reconciled::Keep);
    }

    #[test]
    fn autoupdate_false_protects() {
        let expected = role(
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
            json!({AUTOUPDATE: "true"}),
        );
        let existing = role(json!([]), json!({AUTOUPDATE: "false"}));
        assert_eq!(cluster_role(&existing, &expected), Reconciled::Keep);
    }

    #[test]
    fn bindings_gain_subjects_and_recreate_on_role_change() {
        let expected = json!({"metadata": {"name": "b", "annotations": {AUTOUPDATE: "true"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]});
        let mut existing = expected.clone();
        existing["subjects"] =
            json!([{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]);
        let Reconciled::Update(out) = cluster_role_binding(&existing, &expected) else {
            panic!("expected an update");
        };
        assert_eq!(out["subjects"].as_array().map(Vec::len), Some(2));
        existing["roleRef"]["name"] = json!("other");
        assert_eq!(
            cluster_role_binding(&existing, &expected),
            Reconciled::Recreate
        );
        assert_eq!(cluster_role_binding(&expected, &expected), Reconciled::Keep);
    }
}
