//! ClusterRole aggregation (kube's clusterrole-aggregation controller): a ClusterRole with an
//! `aggregationRule` holds the rules of every other ClusterRole its label selectors match.

use std::collections::BTreeMap;

use serde_json::Value;

use super::PolicyRule;
use crate::selector::LabelSelector;

fn name_of(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or("")
}

fn selectors(role: &Value) -> Option<Vec<LabelSelector>> {
    let list = role
        .get("aggregationRule")?
        .get("clusterRoleSelectors")?
        .as_array()?;
    Some(
        list.iter()
            .filter_map(|s| LabelSelector::from_label_selector(s).ok())
            .collect(),
    )
}

fn labels(role: &Value) -> serde_json::Map<String, Value> {
    role["metadata"]
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The aggregated ClusterRoles whose rules must change, with their new rules, computed to a
/// fixed point so chains (view → edit → admin) settle in one pass of writes. Selected roles are
/// visited in name order per selector, rules deduplicated, as kube does.
pub fn aggregate(cluster_roles: &[Value]) -> Vec<(String, Vec<PolicyRule>)> {
    let mut current: BTreeMap<String, Vec<PolicyRule>> = cluster_roles
        .iter()
        .map(|r| (name_of(r).to_string(), PolicyRule::list_from(r)))
        .collect();
    let mut by_name: Vec<&Value> = cluster_roles.iter().collect();
    by_name.sort_by(|a, b| name_of(a).cmp(name_of(b)));
    let aggregated: Vec<(&str, Vec<LabelSelector>)> = by_name
        .iter()
        .filter_map(|r| Some((name_of(r), selectors(r)?)))
        .collect();
    for _ in 0..8 {
        let mut changed = false;
        for (name, sels) in &aggregated {
            let mut rules: Vec<PolicyRule> = Vec::new();
            for sel in sels {
                for other in &by_name {
                    let other_name = name_of(other);
                    if other_name == *name || !sel.matches(&labels(other)) {
                        continue;
                    }
                    for rule in current.get(other_name).into_iter().flatten() {
                        if !rules.contains(rule) {
                            rules.push(rule.clone());
                        }
                    }
                }
            }
            if current.get(*name) != Some(&rules) {
                current.insert(name.to_string(), rules);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    aggregated
        .iter()
        .filter_map(|(name, _)| {
            let original = cluster_roles.iter().find(|r| name_of(r) == *name)?;
            let want = current.get(*name)?;
            (PolicyRule::list_from(original) != *want).then(|| (name.to_string(), want.clone()))
        })
        .collect()
}
