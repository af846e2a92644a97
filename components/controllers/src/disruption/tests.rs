use super::*;
use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).expect("time")
}

fn pdb(spec: serde_json::Value) -> PodDisruptionBudget {
    serde_json::from_value(json!({
        "metadata": {"name": "b", "namespace": "d", "generation": 2},
        "spec": spec,
    }))
    .expect("pdb")
}

fn pod(name: &str, ready: bool) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

#[test]
fn percentages_round_up() {
    let pct = |s: &str| IntOrString::String(s.into());
    assert_eq!(scaled_value(&pct("50%"), 3, true), Ok(2));
    assert_eq!(scaled_value(&pct("50%"), 3, false), Ok(1));
    assert_eq!(scaled_value(&pct("100%"), 7, true), Ok(7));
    assert_eq!(scaled_value(&IntOrString::Int(2), 10, true), Ok(2));
    assert!(scaled_value(&pct("half"), 3, true).is_err());
}

#[test]
fn expected_and_desired_counts() {
    // integer minAvailable: the selected pods are what is expected
    let min2 = pdb(json!({"minAvailable": 2}));
    assert!(!needs_scale(&min2));
    assert_eq!(expected_and_desired(&min2, 3, None), Ok((3, 2)));
    // percentages and maxUnavailable use the controllers' scale
    let min50 = pdb(json!({"minAvailable": "50%"}));
    assert!(needs_scale(&min50));
    assert_eq!(expected_and_desired(&min50, 2, Some(5)), Ok((5, 3)));
    let max1 = pdb(json!({"maxUnavailable": 1}));
    assert_eq!(expected_and_desired(&max1, 3, Some(3)), Ok((3, 2)));
    let max_pct = pdb(json!({"maxUnavailable": "30%"}));
    assert_eq!(expected_and_desired(&max_pct, 3, Some(3)), Ok((3, 2)));
    let max_all = pdb(json!({"maxUnavailable": 5}));
    assert_eq!(expected_and_desired(&max_all, 3, Some(3)), Ok((3, 0)));
}

#[test]
fn healthy_pods_and_status() {
    let (a, b, c) = (pod("a", true), pod("b", true), pod("c", false));
    let mut gone = pod("g", true);
    gone.metadata.deletion_timestamp = Some(Time(ts(1)));
    let evicted = pod("e", true);
    let disrupted: BTreeMap<String, Time> = [("e".to_string(), Time(ts(100)))].into();
    let pods = [&a, &b, &c, &gone, &evicted];
    assert_eq!(count_healthy(&pods, &disrupted, ts(110)), 2);
    // the eviction is forgotten after the deletion timeout
    assert_eq!(count_healthy(&pods, &disrupted, ts(100 + 120)), 3);

    let budget = pdb(json!({"minAvailable": 2}));
    let st = desired_status(&budget, 3, 2, 3, BTreeMap::new(), ts(50)).expect("first");
    assert_eq!(
        serde_json::to_value(&st).expect("json"),
        json!({
            "currentHealthy": 3, "desiredHealthy": 2, "disruptionsAllowed": 1, "expectedPods": 3,
            "observedGeneration": 2,
            "conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods",
                            "message": "", "observedGeneration": 2,
                            "lastTransitionTime": "1970-01-01T00:00:50Z"}],
        })
    );
    let mut written = budget.clone();
    written.status = Some(st);
    assert_eq!(
        desired_status(&written, 3, 2, 3, BTreeMap::new(), ts(60)),
        None
    );
    // a pod becomes unready: nothing may be disrupted, the condition flips
    let st = desired_status(&written, 2, 2, 3, BTreeMap::new(), ts(70)).expect("changed");
    assert_eq!(st.disruptions_allowed, 0);
    let cond = &st.conditions.as_ref().expect("conditions")[0];
    assert_eq!(
        (
            cond.status.as_str(),
            cond.reason.as_str(),
            cond.last_transition_time.0
        ),
        ("False", "InsufficientPods", ts(70))
    );
    // no pods expected: never any disruption
    let st = desired_status(&budget, 1, 0, 0, BTreeMap::new(), ts(50)).expect("first");
    assert_eq!(st.disruptions_allowed, 0);
}

#[test]
fn evictions_are_remembered_until_the_pod_goes() {
    let mut budget = pdb(json!({"minAvailable": 1}));
    budget.status = Some(PodDisruptionBudgetStatus {
        disrupted_pods: Some(
            [
                ("a".to_string(), Time(ts(100))),
                ("old".to_string(), Time(ts(0))),
                ("missing".to_string(), Time(ts(100))),
            ]
            .into(),
        ),
        ..PodDisruptionBudgetStatus::default()
    });
    let (a, old) = (pod("a", true), pod("old", true));
    let (live, recheck) = live_disrupted(&budget, &[&a, &old], ts(130));
    assert_eq!(live.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(recheck, Some(ts(220)));
}

#[test]
fn failures_leave_nothing_to_disrupt() {
    let mut budget = pdb(json!({"maxUnavailable": 1}));
    budget.status = Some(PodDisruptionBudgetStatus {
        disruptions_allowed: 2,
        observed_generation: Some(2),
        ..PodDisruptionBudgetStatus::default()
    });
    let st = fail_safe_status(&budget, "found no controllers for pod \"x\"", ts(5));
    assert_eq!(st.disruptions_allowed, 0);
    let c = &st.conditions.expect("conditions")[0];
    assert_eq!(
        (c.reason.as_str(), c.message.as_str(), c.observed_generation),
        (SYNC_FAILED, "found no controllers for pod \"x\"", Some(2))
    );
}
