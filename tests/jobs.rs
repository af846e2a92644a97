//! Jobs, CronJobs and ttl-after-finished end to end: a real `warren serve --role syncer`,
//! kubectl 1.32, and the fake node agent, whose pods finish by themselves through the
//! `fake-node.warren.test/exit-after` and `exit-code` annotations.

#[path = "hostcluster/fake_node.rs"]
#[allow(dead_code)] // shared with other suites, which use the rest of it
mod fake_node;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fake_node::{FakeNodeConfig, FakeNodes};
use serde_json::Value;
use warren_e2e::{Warren, items};

fn start() -> (Warren, FakeNodes) {
    let w = Warren::start();
    let cfg = FakeNodeConfig {
        nodes: 2,
        max_grace: Some(Duration::from_secs(1)),
        ..FakeNodeConfig::default()
    };
    let nodes = FakeNodes::start(&w.kubeconfig, cfg).expect("fake nodes");
    (w, nodes)
}

fn pods_of_job(w: &Warren, job: &str) -> Vec<Value> {
    items(&w.get_json(&["pods", "-l", &format!("batch.kubernetes.io/job-name={job}")]))
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn condition_types(obj: &Value) -> Vec<String> {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// (reason, message) of the events about an object.
fn events_of(w: &Warren, kind: &str, name: &str) -> Vec<(String, String)> {
    items(&w.get_json(&[
        "events",
        "--field-selector",
        &format!("involvedObject.kind={kind},involvedObject.name={name}"),
    ]))
    .iter()
    .map(|e| {
        (
            e["reason"].as_str().unwrap_or_default().to_string(),
            e["message"].as_str().unwrap_or_default().to_string(),
        )
    })
    .collect()
}

/// A Job whose pods exit with `code` after `after`.
fn job_yaml(name: &str, extra_spec: &str, after: &str, code: i32) -> String {
    format!(
        r#"apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
{extra_spec}
  template:
    metadata:
      annotations:
        fake-node.warren.test/exit-after: "{after}"
        fake-node.warren.test/exit-code: "{code}"
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "exit {code}"]
"#
    )
}

#[test]
fn job_with_completions_and_parallelism_completes() {
    let (w, _nodes) = start();
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &job_yaml("pi", "  completions: 3\n  parallelism: 2", "300ms", 0),
    );
    // never more than parallelism pods at once
    let mut most_active = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = w.get_json(&["job", "pi"]);
        most_active = most_active.max(job["status"]["active"].as_i64().unwrap_or(0));
        if condition(&job, "Complete").is_some() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(most_active <= 2, "active went up to {most_active}");
    let out = w.kubectl_ok(&[
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=60s",
    ]);
    assert!(out.contains("job.batch/pi condition met"), "{out}");

    let job = w.get_json(&["job", "pi"]);
    let st = &job["status"];
    assert_eq!(st["succeeded"], 3, "{st:#}");
    assert!(st["active"].is_null(), "{st:#}");
    assert!(st["failed"].is_null(), "{st:#}");
    assert_eq!(st["ready"], 0);
    assert_eq!(st["terminating"], 0);
    assert_eq!(st["uncountedTerminatedPods"], serde_json::json!({}));
    assert!(
        st["startTime"].is_string() && st["completionTime"].is_string(),
        "{st:#}"
    );
    assert_eq!(condition_types(&job), ["SuccessCriteriaMet", "Complete"]);
    for type_ in ["SuccessCriteriaMet", "Complete"] {
        let c = condition(&job, type_).expect("condition");
        assert_eq!(c["status"], "True");
        assert_eq!(c["reason"], "CompletionsReached");
        assert_eq!(c["message"], "Reached expected number of succeeded pods");
    }
    assert_eq!(
        condition(&job, "Complete").expect("complete")["lastTransitionTime"],
        st["completionTime"]
    );

    let uid = job["metadata"]["uid"].as_str().expect("uid").to_string();
    let pods = pods_of_job(&w, "pi");
    assert_eq!(pods.len(), 3, "{pods:#?}");
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Succeeded");
        let labels = &p["metadata"]["labels"];
        assert_eq!(labels["batch.kubernetes.io/job-name"], "pi");
        assert_eq!(labels["job-name"], "pi");
        assert_eq!(labels["batch.kubernetes.io/controller-uid"], uid.as_str());
        assert_eq!(labels["controller-uid"], uid.as_str());
        let owner = &p["metadata"]["ownerReferences"][0];
        assert_eq!(owner["kind"], "Job");
        assert_eq!(owner["uid"], uid.as_str());
        assert_eq!(owner["controller"], true);
        // counted, so the tracking finalizer is gone
        assert!(p["metadata"]["finalizers"].is_null(), "{p:#}");
        assert!(p["metadata"]["generateName"].as_str() == Some("pi-"));
    }
    let events = events_of(&w, "Job", "pi");
    let created = events
        .iter()
        .filter(|(r, _)| r == "SuccessfulCreate")
        .count();
    assert_eq!(created, 3, "{events:?}");
    assert!(
        events.contains(&("Completed".into(), "Job completed".into())),
        "{events:?}"
    );
    // kubectl's table
    let table = w.kubectl_ok(&["get", "job", "pi"]);
    let row = warren_e2e::lines(&table)[1].clone();
    assert!(row.starts_with("pi Complete 3/3 "), "{table}");
}

#[test]
fn failing_job_hits_the_backoff_limit() {
    let (w, _nodes) = start();
    let started = Instant::now();
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &job_yaml("fail", "  backoffLimit: 1", "200ms", 3),
    );
    let out = w.kubectl_ok(&[
        "wait",
        "--for=condition=failed",
        "job/fail",
        "--timeout=90s",
    ]);
    assert!(out.contains("condition met"), "{out}");
    // the second pod waited out the 10s back-off after the first failure
    assert!(
        started.elapsed() >= Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let job = w.get_json(&["job", "fail"]);
    let st = &job["status"];
    assert_eq!(st["failed"], 2, "{st:#}");
    assert!(
        st["succeeded"].is_null() && st["active"].is_null(),
        "{st:#}"
    );
    assert_eq!(condition_types(&job), ["FailureTarget", "Failed"]);
    for type_ in ["FailureTarget", "Failed"] {
        let c = condition(&job, type_).expect("condition");
        assert_eq!(c["reason"], "BackoffLimitExceeded");
        assert_eq!(c["message"], "Job has reached the specified backoff limit");
    }
    assert!(st["completionTime"].is_null());
    let pods = pods_of_job(&w, "fail");
    assert_eq!(pods.len(), 2);
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Failed");
        let term = &p["status"]["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(term["exitCode"], 3);
        assert_eq!(term["reason"], "Error");
    }
    let events = events_of(&w, "Job", "fail");
    assert!(
        events.contains(&(
            "BackoffLimitExceeded".into(),
            "Job has reached the specified backoff limit".into()
        )),
        "{events:?}"
    );
}

#[test]
fn indexed_job_pods_carry_their_indexes() {
    let (w, _nodes) = start();
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &job_yaml(
            "idx",
            "  completions: 4\n  parallelism: 2\n  completionMode: Indexed",
            "200ms",
            0,
        ),
    );
    w.kubectl_ok(&[
        "wait",
        "--for=condition=complete",
        "job/idx",
        "--timeout=60s",
    ]);
    let job = w.get_json(&["job", "idx"]);
    assert_eq!(job["status"]["completedIndexes"], "0-3");
    assert_eq!(job["status"]["succeeded"], 4);
    let pods = pods_of_job(&w, "idx");
    let mut indexes = BTreeSet::new();
    for p in &pods {
        let ann = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
            .as_str()
            .expect("index annotation")
            .to_string();
        let label = &p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"];
        assert_eq!(label, ann.as_str());
        assert_eq!(p["spec"]["hostname"], format!("idx-{ann}").as_str());
        assert!(
            p["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!("idx-{ann}-"))),
            "{p:#}"
        );
        let env = &p["spec"]["containers"][0]["env"][0];
        assert_eq!(env["name"], "JOB_COMPLETION_INDEX");
        assert_eq!(
            env["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.labels['batch.kubernetes.io/job-completion-index']"
        );
        indexes.insert(ann.parse::<i32>().expect("number"));
    }
    assert_eq!(indexes, (0..4).collect::<BTreeSet<i32>>(), "{pods:#?}");
    assert_eq!(pods.len(), 4);
}

#[test]
fn finished_job_with_ttl_is_deleted_with_its_pods() {
    let (w, _nodes) = start();
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &job_yaml("short", "  ttlSecondsAfterFinished: 1", "200ms", 0),
    );
    w.eventually("the job to complete", Duration::from_secs(60), || {
        let out = w.kubectl(&["get", "job", "short", "-o", "json"]);
        let job: Value = serde_json::from_slice(&out.stdout).ok()?;
        condition(&job, "Complete").map(|_| ())
    });
    w.eventually(
        "the job and its pods to go",
        Duration::from_secs(30),
        || {
            let jobs = items(&w.get_json(&["jobs"]));
            let pods = pods_of_job(&w, "short");
            (jobs.is_empty() && pods.is_empty()).then_some(())
        },
    );
}

#[test]
fn suspended_job_starts_when_resumed() {
    let (w, _nodes) = start();
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &job_yaml("later", "  suspend: true", "200ms", 0),
    );
    let job = w.eventually("the Suspended condition", Duration::from_secs(30), || {
        let job = w.get_json(&["job", "later"]);
        condition(&job, "Suspended").map(|_| job.clone())
    });
    let c = condition(&job, "Suspended").expect("suspended");
    assert_eq!(
        (c["status"].as_str(), c["reason"].as_str()),
        (Some("True"), Some("JobSuspended"))
    );
    assert!(job["status"]["startTime"].is_null());
    assert!(pods_of_job(&w, "later").is_empty());
    w.kubectl_ok(&[
        "patch",
        "job",
        "later",
        "--type=merge",
        "-p",
        r#"{"spec":{"suspend":false}}"#,
    ]);
    w.kubectl_ok(&[
        "wait",
        "--for=condition=complete",
        "job/later",
        "--timeout=60s",
    ]);
    let job = w.get_json(&["job", "later"]);
    let c = condition(&job, "Suspended").expect("suspended");
    assert_eq!(
        (c["status"].as_str(), c["reason"].as_str()),
        (Some("False"), Some("JobResumed"))
    );
    let events = events_of(&w, "Job", "later");
    assert!(events.iter().any(|(r, _)| r == "Suspended"), "{events:?}");
    assert!(events.iter().any(|(r, _)| r == "Resumed"), "{events:?}");
}

#[test]
fn cronjob_fires_and_jobs_can_be_created_from_it() {
    let (w, _nodes) = start();
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "* * * * *"
  jobTemplate:
    metadata:
      labels:
        team: batch
    spec:
      template:
        metadata:
          annotations:
            fake-node.warren.test/exit-after: "200ms"
        spec:
          restartPolicy: OnFailure
          containers:
          - name: main
            image: busybox
"#,
    );
    let cj_uid = w.get_json(&["cronjob", "tick"])["metadata"]["uid"]
        .as_str()
        .expect("uid")
        .to_string();

    // a Job by hand from the template, at once
    let out = w.kubectl_ok(&["create", "job", "--from=cronjob/tick", "by-hand"]);
    assert!(out.contains("job.batch/by-hand created"), "{out}");
    let manual = w.get_json(&["job", "by-hand"]);
    assert_eq!(
        manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    assert_eq!(
        manual["metadata"]["ownerReferences"][0]["uid"],
        cj_uid.as_str()
    );
    assert_eq!(manual["metadata"]["labels"]["team"], "batch");
    w.kubectl_ok(&[
        "wait",
        "--for=condition=complete",
        "job/by-hand",
        "--timeout=60s",
    ]);

    // the schedule fires within a minute
    let job = w.eventually("a scheduled job", Duration::from_secs(75), || {
        items(&w.get_json(&["jobs"]))
            .into_iter()
            .find(|j| j["metadata"]["name"] != "by-hand")
    });
    let name = job["metadata"]["name"].as_str().expect("name").to_string();
    let owner = &job["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "CronJob");
    assert_eq!(owner["name"], "tick");
    assert_eq!(owner["uid"], cj_uid.as_str());
    assert_eq!(owner["controller"], true);
    assert_eq!(job["metadata"]["labels"]["team"], "batch");
    let scheduled =
        job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
            .as_str()
            .expect("scheduled timestamp")
            .to_string();
    assert!(scheduled.ends_with(":00Z"), "{scheduled}");

    let cj = w.eventually("lastScheduleTime", Duration::from_secs(30), || {
        let cj = w.get_json(&["cronjob", "tick"]);
        cj["status"]["lastScheduleTime"].is_string().then_some(cj)
    });
    assert_eq!(cj["status"]["lastScheduleTime"], scheduled.as_str());
    // the name is the scheduled time in minutes since the epoch
    let minutes: i64 = name
        .strip_prefix("tick-")
        .and_then(|m| m.parse().ok())
        .expect("tick-<minutes>");
    let seconds = minutes * 60;
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{seconds}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), scheduled);

    // it runs to completion and leaves status.active
    let saw = format!("Saw completed job: {name}, status: Complete");
    w.eventually("SawCompletedJob", Duration::from_secs(60), || {
        events_of(&w, "CronJob", "tick")
            .iter()
            .any(|(r, m)| r == "SawCompletedJob" && *m == saw)
            .then_some(())
    });
    let cj = w.get_json(&["cronjob", "tick"]);
    assert!(cj["status"]["lastSuccessfulTime"].is_string(), "{cj:#}");
    let still_active: Vec<&Value> = cj["status"]["active"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"] == name.as_str())
        .collect();
    assert!(still_active.is_empty(), "{cj:#}");
    let events = events_of(&w, "CronJob", "tick");
    assert!(
        events.contains(&("SuccessfulCreate".into(), format!("Created job {name}"))),
        "{events:?}"
    );
}

#[test]
fn on_failure_restarts_count_against_the_backoff_limit() {
    let (w, _nodes) = start();
    let yaml = job_yaml("flaky", "  backoffLimit: 2", "300ms", 1)
        .replace("restartPolicy: Never", "restartPolicy: OnFailure");
    w.kubectl_apply_ok(&["apply", "-f", "-"], &yaml);
    w.kubectl_ok(&[
        "wait",
        "--for=condition=failed",
        "job/flaky",
        "--timeout=60s",
    ]);
    let job = w.get_json(&["job", "flaky"]);
    assert_eq!(condition_types(&job), ["FailureTarget", "Failed"]);
    let failed = condition(&job, "Failed").expect("failed");
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    // the one pod restarted in place and was then deleted, which counts as its failure
    assert_eq!(job["status"]["failed"], 1, "{job:#}");
    assert_eq!(job["status"]["terminating"], 0);
    let events = events_of(&w, "Job", "flaky");
    assert_eq!(
        events
            .iter()
            .filter(|(r, _)| r == "SuccessfulCreate")
            .count(),
        1,
        "{events:?}"
    );
    assert!(
        events.iter().any(|(r, _)| r == "SuccessfulDelete"),
        "{events:?}"
    );
}

#[test]
fn active_deadline_fails_the_job_and_stops_its_pods() {
    let (w, _nodes) = start();
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &job_yaml(
            "slow",
            "  activeDeadlineSeconds: 2\n  parallelism: 2\n  completions: 2",
            "10m",
            0,
        ),
    );
    w.kubectl_ok(&[
        "wait",
        "--for=condition=failed",
        "job/slow",
        "--timeout=60s",
    ]);
    let job = w.get_json(&["job", "slow"]);
    assert_eq!(condition_types(&job), ["FailureTarget", "Failed"]);
    for type_ in ["FailureTarget", "Failed"] {
        let c = condition(&job, type_).expect("condition");
        assert_eq!(c["reason"], "DeadlineExceeded");
        assert_eq!(
            c["message"],
            "Job was active longer than specified deadline"
        );
    }
    assert_eq!(job["status"]["failed"], 2, "{job:#}");
    assert!(job["status"]["active"].is_null());
    // Failed is set once no pod is left terminating
    assert_eq!(job["status"]["terminating"], 0);
    w.eventually("the pods to go", Duration::from_secs(30), || {
        pods_of_job(&w, "slow").is_empty().then_some(())
    });
    let events = events_of(&w, "Job", "slow");
    assert!(
        events.contains(&(
            "DeadlineExceeded".into(),
            "Job was active longer than specified deadline".into()
        )),
        "{events:?}"
    );
}

#[test]
fn a_restart_creates_no_duplicate_pods() {
    let mut w = Warren::start();
    let cfg = FakeNodeConfig {
        nodes: 2,
        max_grace: Some(Duration::from_secs(1)),
        ..FakeNodeConfig::default()
    };
    let nodes = FakeNodes::start(&w.kubeconfig, cfg.clone()).expect("fake nodes");
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &job_yaml("steady", "  completions: 4\n  parallelism: 2", "3s", 0),
    );
    w.eventually("two running pods", Duration::from_secs(30), || {
        let running = pods_of_job(&w, "steady")
            .iter()
            .filter(|p| p["status"]["phase"] == "Running")
            .count();
        (running == 2).then_some(())
    });
    drop(nodes);
    w.restart_after_kill9();
    let _nodes = FakeNodes::start(&w.kubeconfig, cfg).expect("fake nodes again");
    w.kubectl_ok(&[
        "wait",
        "--for=condition=complete",
        "job/steady",
        "--timeout=90s",
    ]);
    let job = w.get_json(&["job", "steady"]);
    assert_eq!(job["status"]["succeeded"], 4, "{job:#}");
    assert!(job["status"]["failed"].is_null(), "{job:#}");
    let pods = pods_of_job(&w, "steady");
    assert_eq!(pods.len(), 4, "{pods:#?}");
    assert!(pods.iter().all(|p| p["status"]["phase"] == "Succeeded"));
}
