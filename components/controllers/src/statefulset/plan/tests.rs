use super::*;

fn shape(replicas: i32, monotonic: bool, strategy: Strategy) -> SetShape {
    SetShape {
        name: "db".into(),
        replicas,
        start_ordinal: 0,
        monotonic,
        strategy,
        current_revision: "db-old".into(),
        update_revision: "db-new".into(),
        status_current_replicas: 0,
    }
}

fn rolling(partition: i32) -> Strategy {
    Strategy::RollingUpdate {
        partition: Some(partition),
    }
}

/// A Running, Ready, available pod at a revision.
fn pod(ordinal: i32, revision: &str) -> PodState {
    PodState {
        name: pod_name("db", ordinal),
        ordinal,
        phase: "Running".into(),
        running_ready: true,
        available: true,
        terminating: false,
        revision: revision.into(),
        needs_fix: false,
    }
}

fn pending(ordinal: i32, revision: &str) -> PodState {
    PodState {
        phase: "Pending".into(),
        running_ready: false,
        available: false,
        ..pod(ordinal, revision)
    }
}

fn terminating(mut p: PodState) -> PodState {
    p.terminating = true;
    p
}

fn names(plan: &Plan) -> Vec<String> {
    plan.actions()
        .map(|a| match a {
            Action::Recreate { name, failed } => format!("recreate {name} failed={failed}"),
            Action::Create { ordinal, from } => format!("create {ordinal} {from:?}"),
            Action::EnsureClaims { name } => format!("claims {name}"),
            Action::Fix { name } => format!("fix {name}"),
            Action::FixClaims { name } => format!("fix-claims {name}"),
            Action::ScaleDown { name } => format!("scale-down {name}"),
            Action::Update { name } => format!("update {name}"),
        })
        .collect()
}

fn none() -> BTreeSet<i32> {
    BTreeSet::new()
}

#[test]
fn names_and_ordinals() {
    assert_eq!(parent_and_ordinal("db-0"), ("db", 0));
    assert_eq!(parent_and_ordinal("my-db-12"), ("my-db", 12));
    assert_eq!(parent_and_ordinal("db-1-2"), ("db-1", 2));
    assert_eq!(parent_and_ordinal("db"), ("", -1));
    assert_eq!(parent_and_ordinal("db-"), ("", -1));
    assert_eq!(parent_and_ordinal("db-x1"), ("", -1));
    assert_eq!(parent_and_ordinal("db-99999999999"), ("db", -1));
    assert!(is_member("db", "db-3"));
    assert!(!is_member("db", "db-web-3"));
    assert_eq!(claim_name("data", "db", 2), "data-db-2");
}

#[test]
fn ordered_ready_creates_the_lowest_missing_ordinal_only() {
    let s = shape(3, true, rolling(0));
    assert_eq!(names(&plan(&s, &[], &none())), ["create 0 Update"]);
    // db-0 exists but is not ready yet: nothing happens
    assert!(names(&plan(&s, &[pending(0, "db-new")], &none())) == ["claims db-0"]);
    // db-0 ready: db-1 next
    assert_eq!(
        names(&plan(&s, &[pod(0, "db-new")], &none())),
        ["create 1 Update"]
    );
    // a gap is filled before anything above it
    assert_eq!(
        names(&plan(&s, &[pod(0, "db-new"), pod(2, "db-new")], &none())),
        ["create 1 Update"]
    );
}

#[test]
fn ordered_ready_waits_for_availability_and_termination() {
    let s = shape(2, true, rolling(0));
    let mut unavailable = pod(0, "db-new");
    unavailable.available = false;
    assert!(names(&plan(&s, &[unavailable], &none())).is_empty());
    assert!(names(&plan(&s, &[terminating(pod(0, "db-new"))], &none())).is_empty());
}

#[test]
fn parallel_creates_every_missing_pod_at_once() {
    let s = shape(3, false, rolling(0));
    assert_eq!(
        names(&plan(&s, &[pending(1, "db-new")], &none())),
        ["create 0 Update", "claims db-1", "create 2 Update"]
    );
}

#[test]
fn stale_claims_hold_back_creation() {
    let s = shape(2, true, rolling(0));
    assert!(names(&plan(&s, &[], &BTreeSet::from([0]))).is_empty());
    let p = shape(2, false, rolling(0));
    assert_eq!(
        names(&plan(&p, &[], &BTreeSet::from([0]))),
        ["create 1 Update"]
    );
}

#[test]
fn finished_pods_are_recreated() {
    let s = shape(2, true, rolling(0));
    let mut failed = pod(0, "db-new");
    failed.phase = "Failed".into();
    failed.running_ready = false;
    assert_eq!(
        names(&plan(&s, &[failed.clone(), pod(1, "db-new")], &none())),
        ["recreate db-0 failed=true"]
    );
    // already being deleted: wait for it to go
    assert!(names(&plan(&s, &[terminating(failed)], &none())).is_empty());
    let mut done = pod(1, "db-new");
    done.phase = "Succeeded".into();
    let p = shape(2, false, rolling(0));
    assert_eq!(
        names(&plan(&p, &[pod(0, "db-new"), done], &none())),
        ["recreate db-1 failed=false"]
    );
}

#[test]
fn scale_down_removes_the_highest_ordinal_one_at_a_time() {
    let s = shape(1, true, rolling(0));
    let pods = [pod(0, "db-new"), pod(1, "db-new"), pod(2, "db-new")];
    assert_eq!(names(&plan(&s, &pods, &none())), ["scale-down db-2"]);
    // db-2 terminating: wait for it before db-1
    let pods = [
        pod(0, "db-new"),
        pod(1, "db-new"),
        terminating(pod(2, "db-new")),
    ];
    assert!(names(&plan(&s, &pods, &none())).is_empty());
    // an unhealthy replica blocks scale down
    let pods = [pending(0, "db-new"), pod(1, "db-new")];
    assert_eq!(names(&plan(&s, &pods, &none())), ["claims db-0"]);
    // Parallel deletes all of them, whatever their state
    let p = shape(1, false, rolling(0));
    let pods = [pod(0, "db-new"), pending(1, "db-new"), pod(2, "db-new")];
    assert_eq!(
        names(&plan(&p, &pods, &none())),
        ["scale-down db-2", "scale-down db-1"]
    );
}

#[test]
fn unhealthy_condemned_pod_goes_first_only_when_it_is_the_first_unhealthy() {
    let s = shape(1, true, rolling(0));
    // the highest ordinal goes first while it is healthy, whatever the others
    let pods = [pod(0, "db-new"), pending(1, "db-new"), pod(2, "db-new")];
    assert_eq!(names(&plan(&s, &pods, &none())), ["scale-down db-2"]);
    // db-2 unhealthy but db-1 is the first unhealthy pod: block
    let pods = [pod(0, "db-new"), pending(1, "db-new"), pending(2, "db-new")];
    assert!(names(&plan(&s, &pods, &none())).is_empty());
    // db-2 is the only (so first) unhealthy one: it goes
    let pods = [pod(0, "db-new"), pod(1, "db-new"), pending(2, "db-new")];
    assert_eq!(names(&plan(&s, &pods, &none())), ["scale-down db-2"]);
}

#[test]
fn rolling_update_goes_from_the_highest_ordinal_and_respects_the_partition() {
    let s = shape(3, true, rolling(0));
    let old = [pod(0, "db-old"), pod(1, "db-old"), pod(2, "db-old")];
    assert_eq!(names(&plan(&s, &old, &none())), ["update db-2"]);
    // db-2 updated but not ready yet: wait
    let pods = [pod(0, "db-old"), pod(1, "db-old"), pending(2, "db-new")];
    assert_eq!(names(&plan(&s, &pods, &none())), ["claims db-2"]);
    // db-2 ready: db-1 next
    let pods = [pod(0, "db-old"), pod(1, "db-old"), pod(2, "db-new")];
    assert_eq!(names(&plan(&s, &pods, &none())), ["update db-1"]);
    // a partition of 2 leaves db-0 and db-1 alone
    let s = shape(3, true, rolling(2));
    assert!(names(&plan(&s, &pods, &none())).is_empty());
    // the update waits for a deleted pod to come back
    let s = shape(3, false, rolling(0));
    let pods = [pod(0, "db-old"), pod(1, "db-old")];
    assert_eq!(names(&plan(&s, &pods, &none())), ["create 2 Update"]);
}

#[test]
fn new_pods_below_the_partition_keep_the_current_revision() {
    let s = shape(3, false, rolling(2));
    assert_eq!(
        names(&plan(&s, &[], &none())),
        ["create 0 Current", "create 1 Current", "create 2 Update"]
    );
    let mut s = shape(3, false, Strategy::RollingUpdate { partition: None });
    s.status_current_replicas = 1;
    assert_eq!(revision_for(&s, 0), Which::Current);
    assert_eq!(revision_for(&s, 1), Which::Update);
    assert_eq!(
        revision_for(&shape(3, false, Strategy::OnDelete), 0),
        Which::Update
    );
}

#[test]
fn on_delete_never_deletes_for_updates() {
    let s = shape(2, true, Strategy::OnDelete);
    let old = [pod(0, "db-old"), pod(1, "db-old")];
    assert!(names(&plan(&s, &old, &none())).is_empty());
}

#[test]
fn fixes_identity_and_condemned_claims() {
    let s = shape(1, true, rolling(0));
    let mut p0 = pod(0, "db-new");
    p0.needs_fix = true;
    let mut p1 = pod(1, "db-new");
    p1.needs_fix = true;
    assert_eq!(
        names(&plan(&s, &[p0, p1], &none())),
        ["fix db-0", "fix-claims db-1", "scale-down db-1"]
    );
}

#[test]
fn start_ordinal_shifts_the_range() {
    let mut s = shape(2, true, rolling(0));
    s.start_ordinal = 5;
    assert_eq!(names(&plan(&s, &[], &none())), ["create 5 Update"]);
    // ordinal 0 is outside 5..7: it is scaled down once 5 and 6 are up
    let pods = [pod(0, "db-new"), pod(5, "db-new"), pod(6, "db-new")];
    assert_eq!(names(&plan(&s, &pods, &none())), ["scale-down db-0"]);
}

#[test]
fn status_counts() {
    let mut t = terminating(pod(2, "db-old"));
    t.running_ready = false;
    let mut unavailable = pod(1, "db-new");
    unavailable.available = false;
    let pods = [pod(0, "db-old"), unavailable, t, pending(3, "db-new")];
    let c = counts(&pods, "db-old", "db-new");
    assert_eq!(
        c,
        Counts {
            replicas: 4,
            ready: 2,
            available: 1,
            current: 1,
            updated: 2,
        }
    );
    // not all updated: the current revision stays
    assert_eq!(
        complete_rolling_update(true, 4, &c, "db-old", "db-new"),
        (1, "db-old".to_string())
    );
    let done = Counts {
        replicas: 3,
        ready: 3,
        available: 3,
        current: 0,
        updated: 3,
    };
    assert_eq!(
        complete_rolling_update(true, 3, &done, "db-old", "db-new"),
        (3, "db-new".to_string())
    );
    assert_eq!(
        complete_rolling_update(false, 3, &done, "db-old", "db-new"),
        (0, "db-old".to_string())
    );
}

fn owner(kind: &str, name: &str, uid: &str) -> Owner {
    Owner {
        api_version: if kind == "Pod" { "v1" } else { "apps/v1" }.into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
    }
}

fn policy(when_deleted: Retention, when_scaled: Retention) -> RetentionPolicy {
    RetentionPolicy {
        when_deleted,
        when_scaled,
    }
}

fn uids(refs: &[OwnerReference]) -> Vec<&str> {
    refs.iter().map(|r| r.uid.as_str()).collect()
}

#[test]
fn claim_owners_follow_the_retention_policy() {
    use Retention::{Delete, Retain};
    let set = owner("StatefulSet", "db", "s1");
    let pod = owner("Pod", "db-1", "p1");
    let none: Vec<OwnerReference> = Vec::new();
    // Retain/Retain: no owners
    assert!(claim_owners_up_to_date(
        &none,
        policy(Retain, Retain),
        &set,
        &pod,
        true
    ));
    assert!(claim_owners(&none, policy(Retain, Retain), &set, &pod, true).is_empty());
    // whenDeleted=Delete: the set owns it
    let p = policy(Delete, Retain);
    assert!(!claim_owners_up_to_date(&none, p, &set, &pod, true));
    let refs = claim_owners(&none, p, &set, &pod, true);
    assert_eq!(uids(&refs), ["s1"]);
    assert_eq!(refs[0].controller, Some(true));
    assert!(claim_owners_up_to_date(&refs, p, &set, &pod, true));
    // whenScaled=Delete: the pod owns it once scaled away, not before
    let p = policy(Retain, Delete);
    assert!(claim_owners_up_to_date(&none, p, &set, &pod, true));
    assert!(!claim_owners_up_to_date(&none, p, &set, &pod, false));
    assert_eq!(uids(&claim_owners(&none, p, &set, &pod, false)), ["p1"]);
    // Delete/Delete: the set while in range, the pod instead once scaled away
    let p = policy(Delete, Delete);
    let in_range = claim_owners(&none, p, &set, &pod, true);
    assert_eq!(uids(&in_range), ["s1"]);
    assert!(!claim_owners_up_to_date(&in_range, p, &set, &pod, false));
    assert_eq!(uids(&claim_owners(&in_range, p, &set, &pod, false)), ["p1"]);
    // switching back to Retain/Retain drops our references but keeps others
    let mut other = owner("ConfigMap", "x", "c1").controller_ref();
    other.controller = None;
    let refs = vec![other, set.controller_ref()];
    assert!(!claim_owners_up_to_date(
        &refs,
        policy(Retain, Retain),
        &set,
        &pod,
        true
    ));
    assert_eq!(
        uids(&claim_owners(
            &refs,
            policy(Retain, Retain),
            &set,
            &pod,
            true
        )),
        ["c1"]
    );
}

#[test]
fn foreign_controllers_and_stale_references_are_left_alone() {
    use Retention::{Delete, Retain};
    let set = owner("StatefulSet", "db", "s1");
    let pod = owner("Pod", "db-1", "p1");
    let p = policy(Delete, Delete);
    // a reference to an earlier pod of the same name: not ours to touch
    let stale = vec![owner("Pod", "db-1", "p0").controller_ref()];
    assert!(claim_owners_up_to_date(&stale, p, &set, &pod, true));
    assert!(claim_is_stale(&stale, policy(Retain, Delete), &pod));
    assert!(!claim_is_stale(&stale, policy(Delete, Retain), &pod));
    // a new pod (no uid yet) sees any reference to its name as stale
    let unborn = owner("Pod", "db-1", "");
    let current = vec![pod.controller_ref()];
    assert!(claim_is_stale(&current, policy(Retain, Delete), &unborn));
    // another controller: nothing is added
    let foreign = vec![owner("Thing", "t", "t1").controller_ref()];
    assert!(claim_owners_up_to_date(&foreign, p, &set, &pod, true));
    assert_eq!(uids(&claim_owners(&foreign, p, &set, &pod, true)), ["t1"]);
    // our reference without controller=true is redone
    let mut weak = set.controller_ref();
    weak.controller = None;
    assert!(!claim_owners_up_to_date(
        &[weak.clone()],
        policy(Delete, Retain),
        &set,
        &pod,
        true
    ));
    let fixed = claim_owners(&[weak], policy(Delete, Retain), &set, &pod, true);
    assert_eq!(fixed, vec![set.controller_ref()]);
}
