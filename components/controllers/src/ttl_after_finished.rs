//! The ttl-after-finished controller: deletes a finished Job (Complete or Failed)
//! `spec.ttlSecondsAfterFinished` after it finished, with propagation Foreground as
//! kube-controller-manager does (the Job goes once the garbage collector has deleted its pods).
//! Before deleting, it reads the live Job again: a TTL changed meanwhile is honoured, and the
//! delete is guarded by the Job's uid.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{DeleteParams, Preconditions, PropagationPolicy};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};

use crate::job::util::finished_condition;
use crate::queue::{self, Queue};
use crate::{Context, is_status};

const COMPONENT: &str = "ttl-after-finished-controller";

/// Why a Job's TTL cannot be worked out.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TtlError {
    #[error("unable to find the time when the Job {0} finished")]
    NoFinishTime(String),
}

/// When a Job is due for deletion: None when it has no TTL, is not finished or is already
/// being deleted; the expiry time otherwise.
pub fn expires_at(job: &Job) -> Result<Option<Timestamp>, TtlError> {
    if job.metadata.deletion_timestamp.is_some() {
        return Ok(None);
    }
    let Some(ttl) = job.spec.as_ref().and_then(|s| s.ttl_seconds_after_finished) else {
        return Ok(None);
    };
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let Some(finished) = finished_condition(conditions) else {
        return Ok(None);
    };
    let at = finished.last_transition_time.as_ref().ok_or_else(|| {
        TtlError::NoFinishTime(queue::key(
            job.metadata.namespace.as_deref(),
            &job.name_any(),
        ))
    })?;
    Ok(Some(at.0 + SignedDuration::from_secs(i64::from(ttl))))
}

/// How long until `expiry` (zero when past).
pub fn time_left(expiry: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(expiry.duration_since(now)).unwrap_or(Duration::ZERO)
}

pub async fn run(ctx: Context) {
    let queue = Queue::new();
    let q = queue.clone();
    let jobs: Store<Job> = ctx
        .informers
        .all::<Job, _>(move |job: &Job| {
            if matches!(expires_at(job), Ok(Some(_))) {
                q.add(queue::key(
                    job.metadata.namespace.as_deref(),
                    &job.name_any(),
                ));
            }
        })
        .await;
    tracing::info!(controller = COMPONENT, "started");
    loop {
        let key = queue.next().await;
        match process(&ctx, &jobs, &key).await {
            Ok(Some(after)) => queue.add_after(key, after),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(key, error = %e, "ttl-after-finished");
                queue.add_after(key, Duration::from_secs(1));
            }
        }
    }
}

/// processJob: deletes the Job when its TTL expired (checked on the cache, then on the live
/// object); returns when to look again otherwise.
async fn process(
    ctx: &Context,
    jobs: &Store<Job>,
    key: &str,
) -> Result<Option<Duration>, crate::Error> {
    let (ns, name) = queue::split(key);
    let ns = ns.unwrap_or_default();
    let Some(cached) = jobs.get(&ObjectRef::new(name).within(ns)) else {
        return Ok(None);
    };
    let now = ctx.clock.now();
    match expires_at(&cached).map_err(|e| crate::Error::Invalid(e.to_string()))? {
        None => return Ok(None),
        Some(at) if at > now => return Ok(Some(time_left(at, now))),
        Some(_) => {}
    }
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), ns);
    let Some(fresh) = api.get_opt(name).await? else {
        return Ok(None);
    };
    match expires_at(&fresh).map_err(|e| crate::Error::Invalid(e.to_string()))? {
        None => return Ok(None),
        Some(at) if at > now => return Ok(Some(time_left(at, now))),
        Some(_) => {}
    }
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        preconditions: Some(Preconditions {
            uid: fresh.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    tracing::debug!(job = key, "cleaning up finished Job");
    match api.delete(name, &dp).await {
        Ok(_) => Ok(None),
        Err(e) if is_status(&e, 404) || is_status(&e, 409) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{JobSpec, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn job(ttl: Option<i32>, finished: Option<(&str, &str, Option<&str>)>) -> Job {
        Job {
            metadata: kube::api::ObjectMeta {
                name: Some("pi".into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            spec: Some(JobSpec {
                ttl_seconds_after_finished: ttl,
                ..Default::default()
            }),
            status: Some(JobStatus {
                conditions: finished.map(|(t, s, at)| {
                    vec![crate::job::util::condition(
                        t,
                        s,
                        "",
                        "",
                        at.map(ts).unwrap_or(Timestamp::UNIX_EPOCH),
                    )]
                    .into_iter()
                    .map(|mut c| {
                        if at.is_none() {
                            c.last_transition_time = None;
                        }
                        c
                    })
                    .collect()
                }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn expiry_from_the_finish_time() {
        let at = "2024-01-01T10:00:00Z";
        assert_eq!(
            expires_at(&job(Some(5), Some(("Complete", "True", Some(at))))),
            Ok(Some(ts("2024-01-01T10:00:05Z")))
        );
        assert_eq!(
            expires_at(&job(Some(0), Some(("Failed", "True", Some(at))))),
            Ok(Some(ts(at)))
        );
        // not finished, no TTL, or a condition that is not True
        assert_eq!(expires_at(&job(Some(5), None)), Ok(None));
        assert_eq!(
            expires_at(&job(None, Some(("Complete", "True", Some(at))))),
            Ok(None)
        );
        assert_eq!(
            expires_at(&job(
                Some(5),
                Some(("SuccessCriteriaMet", "True", Some(at)))
            )),
            Ok(None)
        );
        assert_eq!(
            expires_at(&job(Some(5), Some(("Complete", "False", Some(at))))),
            Ok(None)
        );
        // being deleted already
        let mut deleting = job(Some(5), Some(("Complete", "True", Some(at))));
        deleting.metadata.deletion_timestamp = Some(Time(ts(at)));
        assert_eq!(expires_at(&deleting), Ok(None));
        assert_eq!(
            expires_at(&job(Some(5), Some(("Complete", "True", None)))),
            Err(TtlError::NoFinishTime("default/pi".into()))
        );
        assert_eq!(
            time_left(ts("2024-01-01T10:00:05Z"), ts(at)),
            Duration::from_secs(5)
        );
        assert_eq!(
            time_left(ts(at), ts("2024-01-01T10:00:05Z")),
            Duration::ZERO
        );
    }
}
