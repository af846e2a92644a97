//! Workload controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController
//! (apps/v1, core/v1) and Job, CronJob (batch/v1).

use serde_json::{Value, json};

use super::core::{pod_template, pod_template_metadata};
use super::cron;
use super::names;
use super::util::{
    Errs, child, get, go_label_selector, go_quote, go_string_map, int_of, selector_is_empty,
    selector_matches, str_of, string_or_empty,
};
use crate::error::{FieldError, FieldErrorKind};

/// `%#v` of an IntOrString.
fn go_int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => format!(
            "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
            go_quote(s)
        ),
        other => format!(
            "intstr.IntOrString{{Type:0, IntVal:{}, StrVal:\"\"}}",
            other.as_i64().unwrap_or(0)
        ),
    }
}

/// getIntOrPercentValue: the integer, or the percentage of a valid percent string.
fn int_or_percent_value(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::String(s)) => s
            .strip_suffix('%')
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        Some(other) => other.as_i64().unwrap_or(0),
        None => 0,
    }
}

/// ValidatePositiveIntOrPercent and IsNotMoreThan100Percent of `obj.field`.
fn int_or_percent(e: &mut Errs, obj: &Value, path: &str, field: &str, max_100: bool) {
    let Some(v) = get(obj, field) else {
        return;
    };
    let p = child(path, field);
    match v {
        Value::String(s) => {
            for m in names::percent(s) {
                e.invalid_go(&p, &go_int_or_string(v), &m);
            }
            if max_100 && int_or_percent_value(Some(v)) > 100 {
                e.invalid_go(&p, &go_int_or_string(v), "must not be greater than 100%");
            }
        }
        other => {
            if let Some(n) = other.as_i64().filter(|n| *n < 0) {
                e.invalid(p, n.into(), "must be greater than or equal to 0");
            }
        }
    }
}

/// NotSupported whose value kube prints as a Go struct.
fn not_supported_go(e: &mut Errs, path: &str, go_value: &str, allowed: &[&str]) {
    let list: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
    e.push(FieldError::new(
        FieldErrorKind::NotSupported,
        path,
        None,
        format!("{go_value}: supported values: {}", list.join(", ")),
    ));
}

/// `apps.DeploymentStrategy{Type:"X", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}`.
fn go_strategy(go_type: &str, rolling_type: &str, strategy: &Value) -> String {
    format!(
        "apps.{go_type}{{Type:{}, RollingUpdate:(*apps.{rolling_type})(nil)}}",
        go_quote(string_or_empty(strategy, "type"))
    )
}

/// The selector/template rules every replicated controller shares.
struct Replicated {
    /// The word in `empty selector is invalid for deployment`.
    word: &'static str,
    /// The kind in `activeDeadlineSeconds in ReplicaSet is not Supported`.
    deadline_kind: &'static str,
    /// Whether a missing selector is `Required` (DaemonSets only fail the label match).
    selector_required: bool,
}

/// Deployments and ReplicaSets (kube says "deployment" for both).
const DEPLOYMENT: Replicated = Replicated {
    word: "deployment",
    deadline_kind: "ReplicaSet",
    selector_required: true,
};
const STATEFUL_SET: Replicated = Replicated {
    word: "statefulset",
    deadline_kind: "StatefulSet",
    selector_required: true,
};
const DAEMON_SET: Replicated = Replicated {
    word: "daemonset",
    deadline_kind: "DaemonSet",
    selector_required: false,
};

/// `spec.template.metadata.labels: Invalid value: map[string]string{…}: `selector` does not
/// match template `labels`` (an absent selector matches nothing).
fn template_matches(e: &mut Errs, spec: &Value, selector: Option<&Value>) {
    let labels = spec.pointer("/template/metadata/labels");
    let ok = selector.is_some_and(|s| selector_matches(s, labels.and_then(Value::as_object)));
    if !ok {
        e.invalid_go(
            "spec.template.metadata.labels",
            &go_string_map(labels),
            "`selector` does not match template `labels`",
        );
    }
}

/// The pod template's restart policy must be one of `allowed` (absent counts as defaulted).
fn template_restart_policy(e: &mut Errs, spec: &Value, allowed: &[&str], lenient: bool) {
    let policy = spec
        .pointer("/template/spec/restartPolicy")
        .and_then(Value::as_str);
    match policy {
        None if lenient => {}
        p if allowed.contains(&p.unwrap_or("")) => {}
        p => e.not_supported("spec.template.spec.restartPolicy", p.unwrap_or(""), allowed),
    }
}

impl Replicated {
    fn validate(&self, e: &mut Errs, spec: &Value) {
        let selector = get(spec, "selector");
        match selector {
            None if self.selector_required => e.required("spec.selector", ""),
            None => {}
            Some(sel) => {
                e.label_selector(sel, "spec.selector");
                if selector_is_empty(sel) {
                    e.invalid_go(
                        "spec.selector",
                        &go_label_selector(Some(sel)),
                        &format!("empty selector is invalid for {}", self.word),
                    );
                }
            }
        }
        if selector.is_none_or(|s| !selector_is_empty(s)) {
            template_matches(e, spec, selector);
        }
        // a struct in kube's internal types: absent means empty, not Required
        let template = spec.get("template").unwrap_or(&Value::Null);
        if self.word == STATEFUL_SET.word {
            pod_template_metadata(e, template, "spec.template");
        } else {
            pod_template(e, template, "spec.template");
        }
        template_restart_policy(e, spec, &["Always"], true);
        if spec
            .pointer("/template/spec/activeDeadlineSeconds")
            .is_some_and(|v| !v.is_null())
        {
            e.forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                &format!(
                    "activeDeadlineSeconds in {} is not Supported",
                    self.deadline_kind
                ),
            );
        }
        e.nonnegative(
            spec,
            "spec",
            &["replicas", "minReadySeconds", "revisionHistoryLimit"],
        );
    }
}

fn spec_of(obj: &Value) -> &Value {
    static NULL: Value = Value::Null;
    obj.get("spec").unwrap_or(&NULL)
}

pub fn deployment(e: &mut Errs, obj: &Value) {
    let spec = spec_of(obj);
    DEPLOYMENT.validate(e, spec);
    if let Some(strategy) = get(spec, "strategy") {
        let path = "spec.strategy";
        match string_or_empty(strategy, "type") {
            "Recreate" if get(strategy, "rollingUpdate").is_some() => e.forbidden(
                child(path, "rollingUpdate"),
                "may not be specified when strategy `type` is 'Recreate'",
            ),
            "Recreate" => {}
            "RollingUpdate" => match get(strategy, "rollingUpdate") {
                None => e.required(
                    child(path, "rollingUpdate"),
                    "this should be defaulted and never be nil",
                ),
                Some(ru) => {
                    let rp = child(path, "rollingUpdate");
                    int_or_percent(e, ru, &rp, "maxUnavailable", true);
                    int_or_percent(e, ru, &rp, "maxSurge", false);
                    let unavailable = get(ru, "maxUnavailable");
                    if int_or_percent_value(unavailable) == 0
                        && int_or_percent_value(get(ru, "maxSurge")) == 0
                    {
                        e.invalid_go(
                            child(&rp, "maxUnavailable"),
                            &go_int_or_string(unavailable.unwrap_or(&json!(0))),
                            "may not be 0 when `maxSurge` is 0",
                        );
                    }
                }
            },
            _ => not_supported_go(
                e,
                path,
                &go_strategy("DeploymentStrategy", "RollingUpdateDeployment", strategy),
                &["Recreate", "RollingUpdate"],
            ),
        }
    }
    if let Some(p) = int_of(spec, "progressDeadlineSeconds") {
        e.nonnegative(spec, "spec", &["progressDeadlineSeconds"]);
        if p <= int_of(spec, "minReadySeconds").unwrap_or(0) {
            e.invalid(
                "spec.progressDeadlineSeconds",
                p.into(),
                "must be greater than minReadySeconds",
            );
        }
    }
}

pub fn replica_set(e: &mut Errs, obj: &Value) {
    DEPLOYMENT.validate(e, spec_of(obj));
}

pub fn stateful_set(e: &mut Errs, obj: &Value) {
    let spec = spec_of(obj);
    match str_of(spec, "podManagementPolicy") {
        None | Some("OrderedReady" | "Parallel") => {}
        Some(p) => e.invalid(
            "spec.podManagementPolicy",
            p.into(),
            "must be 'OrderedReady' or 'Parallel'",
        ),
    }
    if let Some(us) = get(spec, "updateStrategy") {
        match string_or_empty(us, "type") {
            "" => e.required("spec.updateStrategy", ""),
            "OnDelete" if get(us, "rollingUpdate").is_some() => e.invalid(
                "spec.updateStrategy.rollingUpdate",
                us.get("rollingUpdate").cloned().unwrap_or(Value::Null),
                "only allowed for updateStrategy 'RollingUpdate'",
            ),
            "OnDelete" => {}
            "RollingUpdate" => {
                let ru = get(us, "rollingUpdate").unwrap_or(&Value::Null);
                e.nonnegative(ru, "spec.updateStrategy.rollingUpdate", &["partition"]);
                int_or_percent(
                    e,
                    ru,
                    "spec.updateStrategy.rollingUpdate",
                    "maxUnavailable",
                    true,
                );
            }
            _ => e.invalid(
                "spec.updateStrategy",
                us.clone(),
                "must be 'RollingUpdate' or 'OnDelete'",
            ),
        }
    }
    if let Some(policy) = get(spec, "persistentVolumeClaimRetentionPolicy") {
        for f in ["whenDeleted", "whenScaled"] {
            e.one_of(
                policy,
                "spec.persistentVolumeClaimRetentionPolicy",
                f,
                &["Retain", "Delete"],
                false,
            );
        }
    }
    if let Some(ord) = get(spec, "ordinals") {
        e.nonnegative(ord, "spec.ordinals", &["start"]);
    }
    STATEFUL_SET.validate(e, spec);
}

pub fn daemon_set(e: &mut Errs, obj: &Value) {
    let spec = spec_of(obj);
    DAEMON_SET.validate(e, spec);
    e.nonnegative(spec, "spec", &["templateGeneration"]);
    let Some(us) = get(spec, "updateStrategy") else {
        return;
    };
    let path = "spec.updateStrategy";
    match string_or_empty(us, "type") {
        "OnDelete" => {}
        "RollingUpdate" => {
            let Some(ru) = get(us, "rollingUpdate") else {
                return e.required(child(path, "rollingUpdate"), "");
            };
            let rp = child(path, "rollingUpdate");
            int_or_percent(e, ru, &rp, "maxUnavailable", true);
            int_or_percent(e, ru, &rp, "maxSurge", true);
            let unavailable = int_or_percent_value(get(ru, "maxUnavailable")) != 0;
            let surge = int_or_percent_value(get(ru, "maxSurge")) != 0;
            if unavailable && surge {
                let shown = go_int_or_string(get(ru, "maxSurge").unwrap_or(&json!(0)));
                e.invalid_go(
                    child(&rp, "maxSurge"),
                    &shown,
                    "may not be set when maxUnavailable is non-zero",
                );
            } else if !unavailable && !surge {
                e.required(
                    child(&rp, "maxUnavailable"),
                    "cannot be 0 when maxSurge is 0",
                );
            }
        }
        _ => not_supported_go(
            e,
            path,
            &go_strategy("DaemonSetUpdateStrategy", "RollingUpdateDaemonSet", us),
            &["RollingUpdate", "OnDelete"],
        ),
    }
}

/// apps/v1 forbids changing the selector.
pub fn selector_immutable(e: &mut Errs, obj: &Value, old: &Value) {
    let (n, o) = (spec_of(obj).get("selector"), spec_of(old).get("selector"));
    if n != o {
        e.invalid_go("spec.selector", &go_label_selector(n), "field is immutable");
    }
}

pub fn stateful_set_update(e: &mut Errs, obj: &Value, old: &Value) {
    let mutable = [
        "replicas",
        "template",
        "updateStrategy",
        "minReadySeconds",
        "ordinals",
        "revisionHistoryLimit",
        "persistentVolumeClaimRetentionPolicy",
    ];
    let frozen = |o: &Value| {
        let mut s = spec_of(o).clone();
        if let Some(m) = s.as_object_mut() {
            m.retain(|k, _| !mutable.contains(&k.as_str()));
        }
        s
    };
    if frozen(obj) != frozen(old) {
        e.forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        );
    }
}

pub fn replication_controller(e: &mut Errs, obj: &Value) {
    let spec = spec_of(obj);
    e.nonnegative(spec, "spec", &["minReadySeconds"]);
    let selector = spec
        .get("selector")
        .and_then(Value::as_object)
        .filter(|s| !s.is_empty());
    if selector.is_none() {
        e.required("spec.selector", "");
    }
    e.nonnegative(spec, "spec", &["replicas"]);
    match get(spec, "template") {
        None => e.required("spec.template", ""),
        Some(t) => {
            if let Some(sel) = selector {
                let as_selector = json!({ "matchLabels": sel });
                template_matches(e, spec, Some(&as_selector));
            }
            pod_template(e, t, "spec.template");
            template_restart_policy(e, spec, &["Always"], true);
            if t.pointer("/spec/activeDeadlineSeconds")
                .is_some_and(|v| !v.is_null())
            {
                e.forbidden(
                    "spec.template.spec.activeDeadlineSeconds",
                    "activeDeadlineSeconds in ReplicationController is not Supported",
                );
            }
        }
    }
}

/// validateJobSpec at `path` (`spec` or `spec.jobTemplate.spec`), without the selector rules.
fn job_spec(e: &mut Errs, spec: &Value, path: &str) {
    e.nonnegative(
        spec,
        path,
        &[
            "parallelism",
            "completions",
            "activeDeadlineSeconds",
            "backoffLimit",
            "ttlSecondsAfterFinished",
            "backoffLimitPerIndex",
            "maxFailedIndexes",
        ],
    );
    match str_of(spec, "completionMode") {
        None | Some("NonIndexed") => {}
        Some("Indexed") => {
            if get(spec, "completions").is_none() {
                e.required(
                    child(path, "completions"),
                    "when completion mode is Indexed",
                );
            }
            if let Some(p) = int_of(spec, "parallelism").filter(|p| *p > 100_000) {
                e.invalid(
                    child(path, "parallelism"),
                    p.into(),
                    "must be less than or equal to 100000 when completion mode is Indexed",
                );
            }
        }
        Some(m) => e.not_supported(child(path, "completionMode"), m, &["NonIndexed", "Indexed"]),
    }
    e.one_of(
        spec,
        path,
        "podReplacementPolicy",
        &["TerminatingOrFailed", "Failed"],
        false,
    );
    let tpath = child(path, "template");
    pod_template(e, spec.get("template").unwrap_or(&Value::Null), &tpath);
    let policy = spec
        .pointer("/template/spec/restartPolicy")
        .and_then(Value::as_str);
    let rp = child(&tpath, "spec.restartPolicy");
    match policy.unwrap_or("") {
        "OnFailure" if get(spec, "podFailurePolicy").is_some() => e.invalid(
            rp,
            "OnFailure".into(),
            "only \"Never\" is supported when podFailurePolicy is specified",
        ),
        "OnFailure" | "Never" => {}
        p => e.not_supported(rp, p, &["OnFailure", "Never"]),
    }
}

pub fn job(e: &mut Errs, obj: &Value) {
    let spec = spec_of(obj);
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("");
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    let selector = get(spec, "selector");
    if let (false, false, Some(sel)) = (manual, uid.is_empty(), selector) {
        let expected = json!({ "batch.kubernetes.io/controller-uid": uid });
        if !selector_matches(sel, expected.as_object()) {
            e.invalid_go(
                "spec.selector",
                &go_label_selector(Some(sel)),
                "`selector` not auto-generated",
            );
        }
    }
    job_spec(e, spec, "spec");
    match selector {
        None => e.required("spec.selector", ""),
        Some(sel) => e.label_selector(sel, "spec.selector"),
    }
    template_matches(e, spec, selector);
}

pub fn job_update(e: &mut Errs, obj: &Value, old: &Value) {
    let (spec, old_spec) = (spec_of(obj), spec_of(old));
    for f in [
        "completions",
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
    ] {
        e.immutable(spec, old_spec, "spec", f);
    }
    if get(spec, "selector") != get(old_spec, "selector") {
        e.invalid_go(
            "spec.selector",
            &go_label_selector(get(spec, "selector")),
            "field is immutable",
        );
    }
    let suspended = old_spec.get("suspend").and_then(Value::as_bool) == Some(true);
    if !suspended {
        e.immutable(spec, old_spec, "spec", "template");
    }
}

/// validateTimeZone.
fn time_zone(e: &mut Errs, spec: &Value) {
    let Some(tz) = spec.get("timeZone").and_then(Value::as_str) else {
        return;
    };
    let path = "spec.timeZone";
    if tz.is_empty() {
        return e.invalid(path, tz.into(), "timeZone must be nil or non-empty string");
    }
    let part_ok = |p: &str| {
        !matches!(p, "." | "..")
            && !p.starts_with('-')
            && (1..=14).contains(&p.len())
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
    };
    if !tz.split('/').all(part_ok) {
        return e.invalid(path, tz.into(), format!("unknown time zone {tz}"));
    }
    if tz.eq_ignore_ascii_case("Local") {
        e.invalid(
            path,
            tz.into(),
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        );
    }
}

fn cron_job_spec(e: &mut Errs, obj: &Value, old: Option<&Value>) {
    let spec = spec_of(obj);
    let schedule = string_or_empty(spec, "schedule");
    if schedule.is_empty() {
        e.required("spec.schedule", "");
    } else {
        if let Err(msg) = cron::parse_standard(schedule) {
            e.invalid("spec.schedule", schedule.into(), msg);
        }
        let allow_tz = old.is_some_and(|o| string_or_empty(spec_of(o), "schedule").contains("TZ"));
        if schedule.contains("TZ") {
            let detail = if !allow_tz {
                Some("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
            } else if get(spec, "timeZone").is_some() {
                Some("cannot use both timeZone field and TZ or CRON_TZ in schedule")
            } else {
                None
            };
            if let Some(d) = detail {
                e.invalid("spec.schedule", schedule.into(), d);
            }
        }
    }
    e.nonnegative(spec, "spec", &["startingDeadlineSeconds"]);
    if old.is_none_or(|o| spec_of(o).get("timeZone") != spec.get("timeZone")) {
        time_zone(e, spec);
    }
    e.one_of(
        spec,
        "spec",
        "concurrencyPolicy",
        &["Allow", "Forbid", "Replace"],
        false,
    );
    let jt_spec = spec.pointer("/jobTemplate/spec").unwrap_or(&Value::Null);
    job_spec(e, jt_spec, "spec.jobTemplate.spec");
    if let Some(sel) = get(jt_spec, "selector") {
        e.invalid_go(
            "spec.jobTemplate.spec.selector",
            &go_label_selector(Some(sel)),
            "`selector` will be auto-generated",
        );
    }
    if jt_spec.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        e.push(FieldError::new(
            FieldErrorKind::NotSupported,
            "spec.jobTemplate.spec.manualSelector",
            Some(Value::Bool(true)),
            "supported values: \"nil\", \"false\"",
        ));
    }
    e.nonnegative(
        spec,
        "spec",
        &["successfulJobsHistoryLimit", "failedJobsHistoryLimit"],
    );
}

pub fn cron_job(e: &mut Errs, obj: &Value) {
    cron_job_spec(e, obj, None);
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.len() > 52 {
        e.invalid(
            "metadata.name",
            name.into(),
            "must be no more than 52 characters",
        );
    }
}

pub fn cron_job_update(e: &mut Errs, obj: &Value, old: &Value) {
    cron_job_spec(e, obj, Some(old));
}
