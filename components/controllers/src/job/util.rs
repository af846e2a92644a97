//! The job controller's arithmetic as plain functions: how many pods to run, which to delete,
//! which completion indexes are pending, the `completedIndexes` interval format, the pod
//! failure back-off, and the conditions kube sets.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{JobCondition, SuccessPolicy};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// Kept on every pod until its end is counted in the Job's status.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// Annotation and label with an Indexed Job pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// spec.managedBy of Jobs this controller runs.
pub const JOB_CONTROLLER_NAME: &str = "kubernetes.io/job-controller";
/// At most this many pod UIDs in status.uncountedTerminatedPods (about 20 KB).
pub const MAX_UNCOUNTED_PODS: usize = 500;
/// At most this many pod creations or deletions per sync.
pub const MAX_POD_CREATE_DELETE_PER_SYNC: usize = 500;
/// generateName prefixes are cut to this length (63 minus the 5 random characters).
pub const MAX_GENERATED_NAME_LENGTH: usize = 58;

/// The pod failure back-off: `base` after the first failure, doubling, at most `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// kube's DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// The delay after `failures` consecutive failures (0 for none).
    pub fn delay(&self, failures: i32) -> Duration {
        if failures <= 0 {
            return Duration::ZERO;
        }
        let mut d = self.base;
        for _ in 1..failures {
            d = d.saturating_mul(2);
            if d >= self.max {
                return self.max;
            }
        }
        d
    }

    /// How long pod creation must still wait: the delay minus the time since the last failure.
    pub fn remaining(&self, record: &BackoffRecord, now: Timestamp) -> Duration {
        let Some(last) = record.last_failure else {
            return Duration::ZERO;
        };
        let delay = self.delay(record.failures_after_last_success);
        let elapsed = now.duration_since(last);
        let elapsed = Duration::try_from(elapsed).unwrap_or(Duration::ZERO);
        delay.saturating_sub(elapsed)
    }
}

/// Consecutive failures since the last success, and when the last one ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackoffRecord {
    pub failures_after_last_success: i32,
    pub last_failure: Option<Timestamp>,
}

impl BackoffRecord {
    /// The record after newly finished pods (their finish times): a success resets the count
    /// to the failures that ended after the last success.
    pub fn updated(&self, succeeded: &[Timestamp], failed: &[Timestamp]) -> BackoffRecord {
        let mut failed = failed.to_vec();
        failed.sort();
        let Some(last_success) = succeeded.iter().max() else {
            return match failed.last() {
                None => *self,
                Some(last) => BackoffRecord {
                    failures_after_last_success: self.failures_after_last_success
                        + failed.len() as i32,
                    last_failure: Some(*last),
                },
            };
        };
        let after: Vec<&Timestamp> = failed.iter().filter(|t| *t > last_success).collect();
        BackoffRecord {
            failures_after_last_success: after.len() as i32,
            last_failure: after.last().map(|t| **t),
        }
    }
}

/// When a pod ended: its containers' last finish, else when Ready turned False, else its
/// deletion (minus the grace period), else its creation.
pub fn finish_time(pod: &Pod) -> Timestamp {
    let status = pod.status.as_ref();
    let containers = status.and_then(|s| s.container_statuses.as_ref());
    let mut latest: Option<Timestamp> = None;
    let mut all_terminated = containers.is_some_and(|c| !c.is_empty());
    for c in containers.into_iter().flatten() {
        match c
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.finished_at.as_ref())
        {
            Some(t) => latest = Some(latest.map_or(t.0, |l| l.max(t.0))),
            None => all_terminated = false,
        }
    }
    if all_terminated && let Some(t) = latest {
        return t;
    }
    if let Some(t) = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "Ready" && c.status == "False")
        })
        .and_then(|c| c.last_transition_time.as_ref())
    {
        return t.0;
    }
    if let Some(d) = &pod.metadata.deletion_timestamp {
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0);
        return d.0 - SignedDuration::from_secs(grace);
    }
    pod.metadata
        .creation_timestamp
        .as_ref()
        .map_or(Timestamp::UNIX_EPOCH, |t| t.0)
}

// ---------------------------------------------------------------------------------------------
// how many pods

/// How many pods should be active: at most parallelism, never more than the completions still
/// missing; without completions, parallelism until the first success, then whatever runs.
pub fn want_active(completions: Option<i32>, parallelism: i32, succeeded: i32, active: i32) -> i32 {
    match completions {
        None if succeeded > 0 => active,
        None => parallelism,
        Some(c) => (c - succeeded).min(parallelism).max(0),
    }
}

/// What one sync does about the number of pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodChange {
    /// Delete at least this many active pods (more for Indexed Jobs with duplicate indexes).
    DeleteAtLeast(usize),
    /// Create this many pods.
    Create(usize),
}

/// The pod arithmetic of manageJob. `terminating` counts only when pods are replaced once they
/// have failed (podReplacementPolicy Failed); deletion, when due, goes first.
pub fn pod_change(
    completions: Option<i32>,
    parallelism: i32,
    succeeded: i32,
    active: i32,
    terminating: i32,
    only_replace_failed: bool,
) -> PodChange {
    let want = want_active(completions, parallelism, succeeded, active);
    let remove = (active - want).max(0) as usize;
    if remove > 0 {
        return PodChange::DeleteAtLeast(remove.min(MAX_POD_CREATE_DELETE_PER_SYNC));
    }
    let terminating = if only_replace_failed { terminating } else { 0 };
    let create = (want - terminating - active).max(0) as usize;
    PodChange::Create(create.min(MAX_POD_CREATE_DELETE_PER_SYNC))
}

/// pastBackoffLimitOnFailure: with restartPolicy OnFailure, container restarts of running and
/// pending pods count against backoffLimit.
pub fn past_backoff_limit_on_failure(
    restart_policy: Option<&str>,
    backoff_limit: i32,
    pods: &[&Pod],
) -> bool {
    if restart_policy != Some("OnFailure") {
        return false;
    }
    let restarts: i32 = pods
        .iter()
        .filter_map(|p| p.status.as_ref())
        .filter(|s| matches!(s.phase.as_deref(), Some("Running" | "Pending")))
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .map(|c| c.restart_count)
        .sum();
    if backoff_limit == 0 {
        restarts > 0
    } else {
        restarts >= backoff_limit
    }
}

// ---------------------------------------------------------------------------------------------
// completion indexes

/// A pod's completion index (the annotation; None when missing or not a non-negative number).
pub fn completion_index(pod: &Pod) -> Option<i32> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(COMPLETION_INDEX)?
        .parse::<i32>()
        .ok()
        .filter(|i| *i >= 0)
}

/// `<job>-<index>-`, the job name cut so the prefix fits a generated name.
pub fn generate_name_with_index(job: &str, index: i32) -> String {
    let suffix = format!("-{index}-");
    let prefix = format!("{job}{suffix}");
    if prefix.len() <= MAX_GENERATED_NAME_LENGTH {
        return prefix;
    }
    let mut keep = MAX_GENERATED_NAME_LENGTH - suffix.len();
    while !job.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{suffix}", &job[..keep])
}

/// Ordered, disjoint, non-adjacent intervals of indexes: status.completedIndexes and
/// successPolicy's succeededIndexes, written `1,3-5` (two neighbours as `1,2`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Intervals(pub Vec<(i32, i32)>);

impl Intervals {
    /// Parses the text form, ignoring malformed pieces and indexes at or past `completions`.
    pub fn parse(s: &str, completions: i32) -> Intervals {
        let mut out: Vec<(i32, i32)> = Vec::new();
        if s.is_empty() {
            return Intervals(out);
        }
        for piece in s.split(',') {
            let mut limits = piece.split('-');
            let Some(Ok(first)) = limits.next().map(str::parse::<i32>) else {
                continue;
            };
            if first >= completions {
                break;
            }
            let last = match limits.next() {
                None => first,
                Some(l) => match l.parse::<i32>() {
                    Ok(l) => l.min(completions - 1),
                    Err(_) => continue,
                },
            };
            match out.last_mut() {
                Some(prev) if prev.1 == first - 1 => prev.1 = last,
                _ => out.push((first, last)),
            }
        }
        Intervals(out)
    }

    /// These intervals plus the given indexes.
    pub fn with_indexes(&self, indexes: impl IntoIterator<Item = i32>) -> Intervals {
        let set: BTreeSet<i32> = indexes.into_iter().collect();
        self.merge(&Intervals(set.into_iter().map(|i| (i, i)).collect()))
    }

    /// The union of two interval lists.
    pub fn merge(&self, other: &Intervals) -> Intervals {
        let mut all: Vec<(i32, i32)> = self.0.iter().chain(other.0.iter()).copied().collect();
        all.sort();
        let mut out: Vec<(i32, i32)> = Vec::new();
        for (first, last) in all {
            match out.last_mut() {
                Some(prev) if first <= prev.1 + 1 => prev.1 = prev.1.max(last),
                _ => out.push((first, last)),
            }
        }
        Intervals(out)
    }

    pub fn total(&self) -> i32 {
        self.0.iter().map(|(f, l)| l - f + 1).sum()
    }

    pub fn has(&self, index: i32) -> bool {
        self.0.iter().any(|(f, l)| *f <= index && index <= *l)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many of `other`'s indexes these intervals hold.
    pub fn overlap(&self, other: &Intervals) -> i32 {
        let mut n = 0;
        for (a1, a2) in &self.0 {
            for (b1, b2) in &other.0 {
                n += ((*a2).min(*b2) - (*a1).max(*b1) + 1).max(0);
            }
        }
        n
    }
}

impl fmt::Display for Intervals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (first, last)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{first}")?;
            if last == &(first + 1) {
                write!(f, ",{last}")?;
            } else if last > first {
                write!(f, "-{last}")?;
            }
        }
        Ok(())
    }
}

/// firstPendingIndexes: the lowest `count` indexes below `completions` that neither succeeded
/// nor have a pod (`busy`).
pub fn first_pending_indexes(
    succeeded: &Intervals,
    busy: &BTreeSet<i32>,
    count: usize,
    completions: i32,
) -> Vec<i32> {
    let taken = succeeded.with_indexes(busy.iter().copied());
    (0..completions)
        .filter(|i| !taken.has(*i))
        .take(count)
        .collect()
}

/// For Indexed Jobs: the active pods to delete because their index is missing, out of range or
/// held by another pod too (all but the best of each index stay, in `order`'s sense: the one
/// sorting last is kept). Returns (to delete, to keep).
pub fn duplicate_index_removals<'a>(
    pods: &[&'a Pod],
    completions: i32,
    order: impl Fn(&Pod, &Pod) -> std::cmp::Ordering,
) -> (Vec<&'a Pod>, Vec<&'a Pod>) {
    let mut rm = Vec::new();
    let mut keep = Vec::new();
    let mut by_index: BTreeMap<i32, Vec<&'a Pod>> = BTreeMap::new();
    for p in pods {
        match completion_index(p) {
            Some(i) if i < completions => by_index.entry(i).or_default().push(p),
            _ => rm.push(*p),
        }
    }
    for (_, mut same) in by_index {
        same.sort_by(|a, b| order(a, b));
        let best = same.pop();
        rm.extend(same);
        keep.extend(best);
    }
    (rm, keep)
}

/// matchSuccessPolicy over the succeeded indexes: the message of the first rule met.
pub fn match_success_policy(
    policy: Option<&SuccessPolicy>,
    completions: i32,
    succeeded: &Intervals,
) -> Option<String> {
    let policy = policy?;
    if succeeded.is_empty() {
        return None;
    }
    for (i, rule) in policy.rules.iter().enumerate() {
        let met = match &rule.succeeded_indexes {
            Some(text) => {
                let required = Intervals::parse(text, completions);
                if required.is_empty() {
                    continue;
                }
                let have = required.overlap(succeeded);
                have == required.total() || rule.succeeded_count.is_some_and(|c| have >= c)
            }
            None => rule.succeeded_count.is_some_and(|c| succeeded.total() >= c),
        };
        if met {
            return Some(format!("Matched rules at index {i}"));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// conditions

pub fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> JobCondition {
    JobCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()).filter(|r| !r.is_empty()),
        message: Some(message.to_string()).filter(|m| !m.is_empty()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

pub fn find_condition<'a>(list: &'a [JobCondition], type_: &str) -> Option<&'a JobCondition> {
    list.iter().find(|c| c.type_ == type_)
}

/// ensureJobConditionStatus: sets the condition (a new one only when not False); true when the
/// list changed.
pub fn ensure_condition(
    list: &mut Vec<JobCondition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> bool {
    if let Some(c) = list.iter_mut().find(|c| c.type_ == type_) {
        let same = c.status == status
            && c.reason.as_deref().unwrap_or("") == reason
            && c.message.as_deref().unwrap_or("") == message;
        if same {
            return false;
        }
        *c = condition(type_, status, reason, message, now);
        return true;
    }
    if status == "False" {
        return false;
    }
    list.push(condition(type_, status, reason, message, now));
    true
}

/// Complete or Failed is True.
pub fn finished_condition(list: &[JobCondition]) -> Option<&JobCondition> {
    list.iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::SuccessPolicyRule;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, ContainerStatus, PodCondition, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn active_pod_arithmetic() {
        // completions 3, parallelism 2
        assert_eq!(pod_change(Some(3), 2, 0, 0, 0, false), PodChange::Create(2));
        assert_eq!(pod_change(Some(3), 2, 1, 1, 0, false), PodChange::Create(1));
        assert_eq!(pod_change(Some(3), 2, 2, 1, 0, false), PodChange::Create(0));
        assert_eq!(
            pod_change(Some(3), 2, 2, 2, 0, false),
            PodChange::DeleteAtLeast(1)
        );
        assert_eq!(pod_change(Some(3), 2, 3, 0, 0, false), PodChange::Create(0));
        // more succeeded than completions never goes negative
        assert_eq!(pod_change(Some(3), 2, 5, 0, 0, false), PodChange::Create(0));
        // parallelism lowered
        assert_eq!(
            pod_change(Some(10), 1, 0, 4, 0, false),
            PodChange::DeleteAtLeast(3)
        );
        // no completions: parallelism until a success, then leave the rest running
        assert_eq!(pod_change(None, 3, 0, 1, 0, false), PodChange::Create(2));
        assert_eq!(pod_change(None, 3, 1, 2, 0, false), PodChange::Create(0));
        assert_eq!(pod_change(None, 3, 1, 0, 0, false), PodChange::Create(0));
        // terminating pods hold places only with podReplacementPolicy Failed
        assert_eq!(pod_change(Some(4), 4, 0, 2, 2, false), PodChange::Create(2));
        assert_eq!(pod_change(Some(4), 4, 0, 2, 2, true), PodChange::Create(0));
        assert_eq!(pod_change(Some(4), 4, 0, 2, 1, true), PodChange::Create(1));
        // capped per sync
        assert_eq!(
            pod_change(Some(2000), 1000, 0, 0, 0, false),
            PodChange::Create(500)
        );
        assert_eq!(want_active(Some(3), 2, 0, 0), 2);
        assert_eq!(want_active(Some(3), 5, 1, 0), 2);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff::default();
        assert_eq!(b.delay(0), Duration::ZERO);
        assert_eq!(b.delay(1), Duration::from_secs(10));
        assert_eq!(b.delay(2), Duration::from_secs(20));
        assert_eq!(b.delay(3), Duration::from_secs(40));
        assert_eq!(b.delay(6), Duration::from_secs(320));
        assert_eq!(b.delay(7), Duration::from_secs(600));
        assert_eq!(b.delay(100), Duration::from_secs(600));
        let fast = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(fast.delay(3), Duration::from_millis(400));
        assert_eq!(fast.delay(5), Duration::from_secs(1));

        let rec = BackoffRecord {
            failures_after_last_success: 2,
            last_failure: Some(ts("2024-01-01T10:00:00Z")),
        };
        assert_eq!(
            b.remaining(&rec, ts("2024-01-01T10:00:05Z")),
            Duration::from_secs(15)
        );
        assert_eq!(
            b.remaining(&rec, ts("2024-01-01T10:00:30Z")),
            Duration::ZERO
        );
        assert_eq!(
            b.remaining(&BackoffRecord::default(), ts("2024-01-01T10:00:00Z")),
            Duration::ZERO
        );
    }

    #[test]
    fn backoff_record_counts_failures_since_the_last_success() {
        let t = |s: &str| ts(&format!("2024-01-01T10:00:{s}Z"));
        let r0 = BackoffRecord::default();
        let r1 = r0.updated(&[], &[t("05"), t("02")]);
        assert_eq!(
            r1,
            BackoffRecord {
                failures_after_last_success: 2,
                last_failure: Some(t("05"))
            }
        );
        let r2 = r1.updated(&[], &[]);
        assert_eq!(r2, r1);
        let r3 = r1.updated(&[t("10")], &[]);
        assert_eq!(r3, BackoffRecord::default());
        let r4 = r1.updated(&[t("10")], &[t("08"), t("12"), t("15")]);
        assert_eq!(
            r4,
            BackoffRecord {
                failures_after_last_success: 2,
                last_failure: Some(t("15"))
            }
        );
    }

    #[test]
    fn finish_time_prefers_containers() {
        let terminated = |at: &str| ContainerStatus {
            state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    finished_at: Some(Time(ts(at))),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut pod = Pod {
            metadata: ObjectMeta {
                creation_timestamp: Some(Time(ts("2024-01-01T09:00:00Z"))),
                ..Default::default()
            },
            spec: None,
            status: Some(PodStatus {
                container_statuses: Some(vec![
                    terminated("2024-01-01T10:00:00Z"),
                    terminated("2024-01-01T10:00:07Z"),
                ]),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: "False".into(),
                    last_transition_time: Some(Time(ts("2024-01-01T10:00:09Z"))),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        };
        assert_eq!(finish_time(&pod), ts("2024-01-01T10:00:07Z"));
        pod.status.as_mut().expect("status").container_statuses =
            Some(vec![ContainerStatus::default()]);
        assert_eq!(finish_time(&pod), ts("2024-01-01T10:00:09Z"));
        pod.status = None;
        pod.metadata.deletion_timestamp = Some(Time(ts("2024-01-01T10:01:00Z")));
        pod.metadata.deletion_grace_period_seconds = Some(30);
        assert_eq!(finish_time(&pod), ts("2024-01-01T10:00:30Z"));
        pod.metadata.deletion_timestamp = None;
        assert_eq!(finish_time(&pod), ts("2024-01-01T09:00:00Z"));
    }

    #[test]
    fn completed_indexes_format() {
        let iv = |v: &[(i32, i32)]| Intervals(v.to_vec());
        assert_eq!(iv(&[]).to_string(), "");
        assert_eq!(iv(&[(1, 1), (3, 5)]).to_string(), "1,3-5");
        assert_eq!(iv(&[(0, 1), (4, 4), (6, 9)]).to_string(), "0,1,4,6-9");
        assert_eq!(Intervals::parse("1,3-5", 10), iv(&[(1, 1), (3, 5)]));
        // neighbours join; out-of-range cut; garbage skipped
        assert_eq!(Intervals::parse("0,1,2,5-7", 10), iv(&[(0, 2), (5, 7)]));
        assert_eq!(Intervals::parse("1,3-9", 5), iv(&[(1, 1), (3, 4)]));
        assert_eq!(Intervals::parse("1,7,8", 5), iv(&[(1, 1)]));
        assert_eq!(Intervals::parse("x,2,a-3", 5), iv(&[(2, 2)]));
        let base = Intervals::parse("1,3-5", 10);
        assert_eq!(base.with_indexes([2, 7, 0]).to_string(), "0-5,7");
        assert_eq!(base.with_indexes([6]).to_string(), "1,3-6");
        assert_eq!(base.total(), 4);
        assert!(base.has(4) && !base.has(2) && !base.has(6));
        assert_eq!(
            base.merge(&Intervals::parse("4-8", 10)).to_string(),
            "1,3-8"
        );
        assert_eq!(base.overlap(&Intervals::parse("0-3,5", 10)), 3);
    }

    #[test]
    fn pending_indexes() {
        let succeeded = Intervals::parse("0,3", 6);
        let busy: BTreeSet<i32> = [1].into();
        assert_eq!(first_pending_indexes(&succeeded, &busy, 2, 6), [2, 4]);
        assert_eq!(first_pending_indexes(&succeeded, &busy, 10, 6), [2, 4, 5]);
        assert_eq!(
            first_pending_indexes(&Intervals::default(), &BTreeSet::new(), 3, 3),
            [0, 1, 2]
        );
        assert_eq!(
            first_pending_indexes(&Intervals::parse("0-2", 3), &BTreeSet::new(), 3, 3),
            Vec::<i32>::new()
        );
    }

    fn indexed(name: &str, index: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                annotations: index.map(|i| [(COMPLETION_INDEX.to_string(), i.to_string())].into()),
                ..Default::default()
            },
            spec: None,
            status: None,
        }
    }

    #[test]
    fn duplicate_indexes_are_removed() {
        let pods = [
            indexed("a0", Some("0")),
            indexed("b0", Some("0")),
            indexed("c1", Some("1")),
            indexed("none", None),
            indexed("bad", Some("-1")),
            indexed("far", Some("7")),
        ];
        let refs: Vec<&Pod> = pods.iter().collect();
        let by_name = |a: &Pod, b: &Pod| a.metadata.name.cmp(&b.metadata.name);
        let (rm, keep) = duplicate_index_removals(&refs, 3, by_name);
        let names = |v: Vec<&Pod>| {
            v.iter()
                .map(|p| p.metadata.name.clone().unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(rm), ["none", "bad", "far", "a0"]);
        assert_eq!(names(keep), ["b0", "c1"]);
        assert_eq!(completion_index(&pods[0]), Some(0));
        assert_eq!(completion_index(&pods[4]), None);
    }

    #[test]
    fn indexed_pod_names() {
        assert_eq!(generate_name_with_index("pi", 3), "pi-3-");
        let long = "x".repeat(60);
        let name = generate_name_with_index(&long, 12);
        assert_eq!(name.len(), MAX_GENERATED_NAME_LENGTH);
        assert!(name.ends_with("x-12-"));
    }

    #[test]
    fn success_policies() {
        let rule = |idx: Option<&str>, count: Option<i32>| SuccessPolicyRule {
            succeeded_indexes: idx.map(str::to_string),
            succeeded_count: count,
        };
        let policy = SuccessPolicy {
            rules: vec![
                rule(Some("0-2"), None),
                rule(None, Some(4)),
                rule(Some("5-9"), Some(2)),
            ],
        };
        let m = |s: &str| match_success_policy(Some(&policy), 10, &Intervals::parse(s, 10));
        assert_eq!(m(""), None);
        assert_eq!(m("0,1"), None);
        assert_eq!(m("0-2"), Some("Matched rules at index 0".into()));
        assert_eq!(m("0,1,3,4"), Some("Matched rules at index 1".into()));
        assert_eq!(m("1,6,7"), Some("Matched rules at index 2".into()));
        assert_eq!(
            match_success_policy(None, 10, &Intervals::parse("0-9", 10)),
            None
        );
    }

    #[test]
    fn on_failure_restarts_count_against_the_limit() {
        let pod = |phase: &str, restarts: i32| Pod {
            metadata: ObjectMeta::default(),
            spec: None,
            status: Some(PodStatus {
                phase: Some(phase.into()),
                container_statuses: Some(vec![ContainerStatus {
                    restart_count: restarts,
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        };
        let (a, b, done) = (pod("Running", 1), pod("Pending", 1), pod("Failed", 9));
        assert!(!past_backoff_limit_on_failure(Some("Never"), 1, &[&a, &b]));
        assert!(past_backoff_limit_on_failure(
            Some("OnFailure"),
            2,
            &[&a, &b]
        ));
        assert!(!past_backoff_limit_on_failure(
            Some("OnFailure"),
            3,
            &[&a, &b, &done]
        ));
        assert!(past_backoff_limit_on_failure(Some("OnFailure"), 0, &[&a]));
    }

    #[test]
    fn conditions_change_only_when_different() {
        let t0 = ts("2024-01-01T10:00:00Z");
        let t1 = ts("2024-01-01T10:05:00Z");
        let mut list = Vec::new();
        assert!(!ensure_condition(
            &mut list,
            "Suspended",
            "False",
            "JobResumed",
            "Job resumed",
            t0
        ));
        assert!(list.is_empty());
        assert!(ensure_condition(
            &mut list,
            "Suspended",
            "True",
            "JobSuspended",
            "Job suspended",
            t0
        ));
        assert!(!ensure_condition(
            &mut list,
            "Suspended",
            "True",
            "JobSuspended",
            "Job suspended",
            t1
        ));
        assert_eq!(list[0].last_transition_time, Some(Time(t0)));
        assert!(ensure_condition(
            &mut list,
            "Suspended",
            "False",
            "JobResumed",
            "Job resumed",
            t1
        ));
        assert_eq!(list[0].status, "False");
        assert_eq!(list[0].last_transition_time, Some(Time(t1)));
        assert!(finished_condition(&list).is_none());
        list.push(condition(
            "Complete",
            "True",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
            t1,
        ));
        assert_eq!(
            finished_condition(&list).map(|c| c.type_.as_str()),
            Some("Complete")
        );
    }
}
