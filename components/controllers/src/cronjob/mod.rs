//! The cronjob controller (kube-controller-manager's `cronjob`, the v2 one): creates a Job
//! for each scheduled time of a CronJob.
//!
//! A Job is named `<cronjob>-<scheduled time in minutes since the epoch>` (so no time runs
//! twice, whoever retries), owned by the CronJob, carries the template's labels and
//! annotations plus `batch.kubernetes.io/cronjob-scheduled-timestamp`, and is listed in
//! `status.active` until it finishes (event SawCompletedJob); `status.lastScheduleTime` and
//! `status.lastSuccessfulTime` follow. `concurrencyPolicy` Forbid skips a time while a Job runs,
//! Replace deletes the running ones first; `startingDeadlineSeconds` skips times started too
//! late (MissSchedule); `suspend` stops new Jobs; the history limits delete the oldest finished
//! Jobs. The pure timing and policy logic is in [`util`], the cron grammar in [`schedule`].
//!
//! Schedules without a zone (no `spec.timeZone`, no `CRON_TZ=` prefix) are read in UTC, where
//! kube-controller-manager uses its process's local zone (UTC in the usual container).

pub mod schedule;
pub mod util;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, PostParams, PropagationPolicy};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};

use crate::events::{self, Involved};
use crate::job::util::finished_condition;
use crate::queue::{self, Queue};
use crate::replicaset::controller_ref;
use crate::{Context, is_status};

use schedule::Schedule;
use util::{Concurrency, Missed, Timing};

const COMPONENT: &str = "cronjob-controller";
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

type Res<T> = Result<T, kube::Error>;

struct Ctl {
    ctx: Context,
    cronjobs: Store<CronJob>,
    jobs: Store<Job>,
    /// (uid, generation) already warned about a `TZ=` schedule: kube aggregates the repeats.
    warned: Mutex<HashSet<(String, i64)>>,
}

pub async fn run(ctx: Context) {
    let queue = Queue::new();
    let q = queue.clone();
    let cronjobs = ctx
        .informers
        .all::<CronJob, _>(move |cj: &CronJob| {
            q.add(queue::key(cj.metadata.namespace.as_deref(), &cj.name_any()))
        })
        .await;
    let q = queue.clone();
    let jobs = ctx
        .informers
        .all_with_deletes::<Job, _>(move |job: &Job, _| {
            if let Some(r) = controller_ref(&job.metadata)
                && r.kind == "CronJob"
            {
                q.add(queue::key(job.metadata.namespace.as_deref(), &r.name));
            }
        })
        .await;
    tracing::info!(controller = COMPONENT, "started");
    let ctl = Ctl {
        ctx,
        cronjobs,
        jobs,
        warned: Mutex::new(HashSet::new()),
    };
    loop {
        let key = queue.next().await;
        match ctl.sync(&key).await {
            Ok(Some(after)) => queue.add_after(key, after),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(key, error = %e, "cronjob sync failed");
                queue.add_after(key, Duration::from_secs(1));
            }
        }
    }
}

fn finished_type(job: &Job) -> Option<String> {
    let conditions = job.status.as_ref()?.conditions.as_deref()?;
    finished_condition(conditions).map(|c| c.type_.clone())
}

fn active_list(cj: &mut CronJob) -> &mut Vec<ObjectReference> {
    cj.status
        .get_or_insert_with(Default::default)
        .active
        .get_or_insert_with(Vec::new)
}

fn in_active(cj: &CronJob, uid: &str) -> bool {
    cj.status
        .as_ref()
        .and_then(|s| s.active.as_ref())
        .is_some_and(|a| a.iter().any(|r| r.uid.as_deref() == Some(uid)))
}

fn remove_active(cj: &mut CronJob, uid: &str) {
    active_list(cj).retain(|r| r.uid.as_deref() != Some(uid));
}

fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        ..ObjectReference::default()
    }
}

/// getJobFromTemplate2.
pub fn job_from_template(cj: &CronJob, scheduled: Timestamp, zone: &TimeZone) -> Job {
    let spec = cj.spec.clone().unwrap_or_default();
    let template_meta = spec.job_template.metadata.clone().unwrap_or_default();
    let mut annotations = template_meta.annotations.unwrap_or_default();
    annotations.insert(
        SCHEDULED_TIMESTAMP.to_string(),
        util::scheduled_timestamp(scheduled, zone),
    );
    Job {
        metadata: ObjectMeta {
            name: Some(util::job_name(&cj.name_any(), scheduled)),
            namespace: cj.metadata.namespace.clone(),
            labels: template_meta.labels.filter(|l| !l.is_empty()),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name: cj.name_any(),
                uid: cj.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: spec.job_template.spec,
        status: None,
    }
}

impl Ctl {
    async fn event(&self, cj: &CronJob, type_: &str, reason: &str, message: String) {
        let involved = Involved {
            api_version: "batch/v1",
            kind: "CronJob",
            namespace: cj.metadata.namespace.as_deref().unwrap_or_default(),
            name: cj.metadata.name.as_deref().unwrap_or_default(),
            uid: cj.metadata.uid.as_deref().unwrap_or_default(),
            resource_version: cj.metadata.resource_version.as_deref(),
        };
        events::record(
            &self.ctx.client,
            self.ctx.clock.as_ref(),
            COMPONENT,
            &involved,
            type_,
            reason,
            message,
        )
        .await;
    }

    fn job_api(&self, ns: &str) -> Api<Job> {
        Api::namespaced(self.ctx.client.clone(), ns)
    }

    async fn sync(&self, key: &str) -> Res<Option<Duration>> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let Some(cached) = self.cronjobs.get(&ObjectRef::new(name).within(ns)) else {
            return Ok(None);
        };
        let jobs: Vec<Arc<Job>> = self
            .jobs
            .state()
            .into_iter()
            .filter(|j| j.metadata.namespace.as_deref() == Some(ns))
            .filter(|j| {
                controller_ref(&j.metadata).is_some_and(|r| r.kind == "CronJob" && r.name == name)
            })
            .collect();
        let mut cj = (*cached).clone();
        let cleaned = self.cleanup_finished(&mut cj, &jobs).await;
        let (requeue, synced, err) = self.sync_cronjob(&mut cj, &jobs).await;
        if cleaned || synced {
            let api: Api<CronJob> = Api::namespaced(self.ctx.client.clone(), ns);
            let mut body = cj.clone();
            body.metadata.managed_fields = None;
            if let Err(e) = api
                .replace_status(name, &PostParams::default(), &body)
                .await
            {
                if is_status(&e, 404) {
                    return Ok(None);
                }
                return Err(e);
            }
        }
        match (requeue, err) {
            (Some(after), _) => Ok(Some(after)),
            (None, Some(e)) => Err(e),
            (None, None) => Ok(None),
        }
    }

    /// The history limits: delete the oldest finished Jobs beyond them.
    async fn cleanup_finished(&self, cj: &mut CronJob, jobs: &[Arc<Job>]) -> bool {
        let spec = cj.spec.clone().unwrap_or_default();
        if spec.successful_jobs_history_limit.is_none() && spec.failed_jobs_history_limit.is_none()
        {
            return false;
        }
        let finished = |kind: &str| -> Vec<util::Finished> {
            jobs.iter()
                .filter(|j| finished_type(j).as_deref() == Some(kind))
                .map(|j| util::Finished {
                    name: j.name_any(),
                    start_time: j
                        .status
                        .as_ref()
                        .and_then(|s| s.start_time.as_ref())
                        .map(|t| t.0),
                })
                .collect()
        };
        let mut changed = false;
        for (kind, limit) in [
            ("Complete", spec.successful_jobs_history_limit),
            ("Failed", spec.failed_jobs_history_limit),
        ] {
            let Some(limit) = limit else { continue };
            for name in util::over_history_limit(finished(kind), limit) {
                if let Some(job) = jobs.iter().find(|j| j.name_any() == name)
                    && self.delete_job(cj, job).await
                {
                    changed = true;
                }
            }
        }
        changed
    }

    /// deleteJob: deletes the Job (its pods through the garbage collector) and its reference.
    async fn delete_job(&self, cj: &mut CronJob, job: &Job) -> bool {
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        let ns = job.metadata.namespace.clone().unwrap_or_default();
        match self.job_api(&ns).delete(&job.name_any(), &dp).await {
            Ok(_) => {}
            Err(e) => {
                let msg = match &e {
                    kube::Error::Api(s) => s.message.clone(),
                    e => e.to_string(),
                };
                self.event(cj, "Warning", "FailedDelete", format!("Deleted job: {msg}"))
                    .await;
                return false;
            }
        }
        remove_active(cj, job.metadata.uid.as_deref().unwrap_or_default());
        self.event(
            cj,
            "Normal",
            "SuccessfulDelete",
            format!("Deleted job {}", job.name_any()),
        )
        .await;
        true
    }

    /// syncCronJob: returns (when to look again, whether the status changed, an error to retry).
    async fn sync_cronjob(
        &self,
        cj: &mut CronJob,
        jobs: &[Arc<Job>],
    ) -> (Option<Duration>, bool, Option<kube::Error>) {
        let now = self.ctx.clock.now();
        let mut update = false;
        let ns = cj.metadata.namespace.clone().unwrap_or_default();
        let children: HashSet<String> =
            jobs.iter().filter_map(|j| j.metadata.uid.clone()).collect();
        for j in jobs {
            let uid = j.metadata.uid.clone().unwrap_or_default();
            let found = in_active(cj, &uid);
            let finished = finished_type(j);
            if !found && finished.is_none() {
                let api: Api<CronJob> = Api::namespaced(self.ctx.client.clone(), &ns);
                match api.get(&cj.name_any()).await {
                    Ok(fresh) if in_active(&fresh, &uid) => {
                        *cj = fresh;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => return (None, update, Some(e)),
                }
                self.event(
                    cj,
                    "Warning",
                    "UnexpectedJob",
                    format!(
                        "Saw a job that the controller did not create or forgot: {}",
                        j.name_any()
                    ),
                )
                .await;
            } else if found && let Some(status) = finished {
                remove_active(cj, &uid);
                self.event(
                    cj,
                    "Normal",
                    "SawCompletedJob",
                    format!("Saw completed job: {}, status: {status}", j.name_any()),
                )
                .await;
                update = true;
            } else if finished.as_deref() == Some("Complete") {
                let completed = j.status.as_ref().and_then(|s| s.completion_time.clone());
                let st = cj.status.get_or_insert_with(Default::default);
                let later = match (&st.last_successful_time, &completed) {
                    (None, _) => true,
                    (Some(last), Some(c)) => c.0 > last.0,
                    (Some(_), None) => false,
                };
                if later && completed.is_some() {
                    st.last_successful_time = completed;
                    update = true;
                }
            }
        }
        // references to Jobs that are gone (asked of the API, not a possibly slow cache)
        let active: Vec<ObjectReference> = cj
            .status
            .as_ref()
            .and_then(|s| s.active.clone())
            .unwrap_or_default();
        for r in active {
            let uid = r.uid.clone().unwrap_or_default();
            if children.contains(&uid) {
                continue;
            }
            let name = r.name.clone().unwrap_or_default();
            let rns = r.namespace.clone().unwrap_or_else(|| ns.clone());
            match self.job_api(&rns).get_opt(&name).await {
                Ok(None) => {
                    self.event(
                        cj,
                        "Normal",
                        "MissingJob",
                        format!("Active job went missing: {name}"),
                    )
                    .await;
                    remove_active(cj, &uid);
                    update = true;
                }
                Ok(Some(_)) => {}
                Err(e) => return (None, update, Some(e)),
            }
        }
        if let Some(st) = cj.status.as_mut()
            && st.active.as_ref().is_some_and(Vec::is_empty)
        {
            st.active = None;
        }
        if cj.metadata.deletion_timestamp.is_some() {
            return (None, update, None);
        }

        let spec = cj.spec.clone().unwrap_or_default();
        let zone = match spec.time_zone.as_deref() {
            None => TimeZone::UTC,
            Some(tz) => match schedule::load_zone(tz) {
                Ok(z) => z,
                Err(e) => {
                    self.event(
                        cj,
                        "Warning",
                        "UnknownTimeZone",
                        format!("invalid timeZone: {tz:?}: {e}"),
                    )
                    .await;
                    return (None, update, None);
                }
            },
        };
        if spec.suspend == Some(true) {
            return (None, update, None);
        }
        if spec.schedule.contains("TZ") {
            let warn_key = (
                cj.metadata.uid.clone().unwrap_or_default(),
                cj.metadata.generation.unwrap_or(0),
            );
            let first = self
                .warned
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(warn_key);
            if first {
                self.event(
                    cj,
                    "Warning",
                    "UnsupportedSchedule",
                    format!(
                        "CRON_TZ or TZ used in schedule {:?} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
                        spec.schedule
                    ),
                )
                .await;
            }
        }
        let sched = match Schedule::parse(&spec.schedule) {
            Ok(s) => s,
            Err(e) => {
                self.event(
                    cj,
                    "Warning",
                    "UnparseableSchedule",
                    format!("unparseable schedule: {:?} : {e}", spec.schedule),
                )
                .await;
                return (None, update, None);
            }
        };
        let timing = |cj: &CronJob| -> (Option<Timestamp>, Timestamp, Option<i64>) {
            (
                cj.status
                    .as_ref()
                    .and_then(|s| s.last_schedule_time.as_ref())
                    .map(|t| t.0),
                cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0),
                spec.starting_deadline_seconds,
            )
        };
        let (last, created, deadline) = timing(cj);
        let t = Timing {
            schedule: &sched,
            zone: &zone,
            created,
            last_schedule: last,
            starting_deadline_seconds: deadline,
        };
        let requeue = t.requeue_after(now);
        let scheduled = match t.unmet(now) {
            Err(e) => {
                self.event(
                    cj,
                    "Warning",
                    "InvalidSchedule",
                    format!("invalid schedule: {} : {e}", spec.schedule),
                )
                .await;
                return (None, update, None);
            }
            Ok((None, _)) => return (requeue, update, None),
            Ok((Some(at), missed)) => {
                if missed == Missed::Many {
                    self.event(
                        cj,
                        "Warning",
                        "TooManyMissedTimes",
                        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".into(),
                    )
                    .await;
                }
                at
            }
        };
        if let Some(secs) = deadline
            && scheduled + jiff::SignedDuration::from_secs(secs) < now
        {
            self.event(
                cj,
                "Warning",
                "MissSchedule",
                format!(
                    "Missed scheduled time to start a job: {}",
                    util::rfc1123z(scheduled)
                ),
            )
            .await;
            return (requeue, update, None);
        }
        let name = util::job_name(&cj.name_any(), scheduled);
        let active_refs = cj
            .status
            .as_ref()
            .and_then(|s| s.active.clone())
            .unwrap_or_default();
        if active_refs
            .iter()
            .any(|r| r.name.as_deref() == Some(name.as_str()))
            || last == Some(scheduled)
        {
            return (requeue, update, None);
        }
        match util::concurrency(spec.concurrency_policy.as_deref(), active_refs.len()) {
            Concurrency::Skip => {
                self.event(
                    cj,
                    "Normal",
                    "JobAlreadyActive",
                    "Not starting job because prior execution is running and concurrency policy is Forbid".into(),
                )
                .await;
                return (requeue, update, None);
            }
            Concurrency::ReplaceThenStart => {
                for r in active_refs {
                    let rname = r.name.clone().unwrap_or_default();
                    let rns = r.namespace.clone().unwrap_or_else(|| ns.clone());
                    let job = match self.job_api(&rns).get(&rname).await {
                        Ok(j) => j,
                        Err(e) => {
                            self.event(cj, "Warning", "FailedGet", format!("Get job: {e}"))
                                .await;
                            return (None, update, Some(e));
                        }
                    };
                    if !self.delete_job(cj, &job).await {
                        // could not replace it: try again soon
                        return (Some(Duration::from_secs(1)), update, None);
                    }
                    update = true;
                }
            }
            Concurrency::Start => {}
        }

        let request = job_from_template(cj, scheduled, &zone);
        let created = match self
            .job_api(&ns)
            .create(&PostParams::default(), &request)
            .await
        {
            Ok(job) => {
                self.event(
                    cj,
                    "Normal",
                    "SuccessfulCreate",
                    format!("Created job {}", job.name_any()),
                )
                .await;
                job
            }
            Err(e) if is_status(&e, 409) => {
                // created before (a crash between the create and the status update?)
                let existing = match self.job_api(&ns).get(&name).await {
                    Ok(j) => j,
                    Err(e) => return (None, update, Some(e)),
                };
                let ours = controller_ref(&existing.metadata)
                    .is_some_and(|r| Some(&r.uid) == cj.metadata.uid.as_ref());
                if !ours || in_active(cj, existing.metadata.uid.as_deref().unwrap_or_default()) {
                    return (None, update, None);
                }
                existing
            }
            Err(e) => {
                let msg = match &e {
                    kube::Error::Api(s) => s.message.clone(),
                    e => e.to_string(),
                };
                self.event(
                    cj,
                    "Warning",
                    "FailedCreate",
                    format!("Error creating job: {msg}"),
                )
                .await;
                return (None, update, Some(e));
            }
        };
        active_list(cj).push(job_ref(&created));
        cj.status
            .get_or_insert_with(Default::default)
            .last_schedule_time = Some(Time(scheduled));
        let t = Timing {
            last_schedule: Some(scheduled),
            ..t
        };
        (t.requeue_after(now), true, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{CronJobSpec, JobSpec, JobTemplateSpec};

    #[test]
    fn jobs_from_the_template() {
        let cj = CronJob {
            metadata: ObjectMeta {
                name: Some("hello".into()),
                namespace: Some("default".into()),
                uid: Some("cj-uid".into()),
                ..ObjectMeta::default()
            },
            spec: Some(CronJobSpec {
                schedule: "* * * * *".into(),
                job_template: JobTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some([("team".to_string(), "a".to_string())].into()),
                        annotations: Some([("note".to_string(), "x".to_string())].into()),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(JobSpec {
                        backoff_limit: Some(2),
                        ..JobSpec::default()
                    }),
                },
                ..CronJobSpec::default()
            }),
            status: None,
        };
        let at: Timestamp = "2024-07-01T10:05:00Z".parse().expect("ts");
        let berlin = TimeZone::get("Europe/Berlin").expect("zone");
        let job = job_from_template(&cj, at, &berlin);
        assert_eq!(job.metadata.name.as_deref(), Some("hello-28663805"));
        let labels = job.metadata.labels.clone().expect("labels");
        assert_eq!(labels.get("team").map(String::as_str), Some("a"));
        let ann = job.metadata.annotations.clone().expect("annotations");
        assert_eq!(ann.get("note").map(String::as_str), Some("x"));
        assert_eq!(
            ann.get(SCHEDULED_TIMESTAMP).map(String::as_str),
            Some("2024-07-01T12:05:00+02:00")
        );
        let owner = &job.metadata.owner_references.clone().expect("owner")[0];
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.name.as_str(),
                owner.uid.as_str(),
                owner.controller
            ),
            ("CronJob", "hello", "cj-uid", Some(true))
        );
        assert_eq!(job.spec.and_then(|s| s.backoff_limit), Some(2));
    }
}
