//! The cronjob controller's decisions as plain functions of their inputs and "now": which
//! scheduled time is due, how many were missed, when to look again, what the concurrency policy
//! allows, which finished Jobs the history limits remove, and how Jobs are named.

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::schedule::Schedule;

/// kube's nextScheduleDelta: a requeue lands this long after the scheduled time, so clock skew
/// does not wake the controller just before it.
pub const NEXT_SCHEDULE_DELTA: Duration = Duration::from_millis(100);
/// More missed start times than this is "too many" (a clock problem, or a long outage).
pub const TOO_MANY_MISSED: i64 = 100;

/// How many start times passed unmet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missed {
    None,
    Few,
    Many,
}

/// What a CronJob's timing depends on.
#[derive(Clone, Debug)]
pub struct Timing<'a> {
    pub schedule: &'a Schedule,
    /// spec.timeZone (UTC when unset); a `CRON_TZ=` prefix in the schedule wins.
    pub zone: &'a TimeZone,
    pub created: Timestamp,
    pub last_schedule: Option<Timestamp>,
    pub starting_deadline_seconds: Option<i64>,
}

/// The answer of [`Timing::most_recent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recent {
    /// The last schedule time, else the creation time (moved up to now minus the starting
    /// deadline when that is asked for and later).
    pub earliest: Timestamp,
    /// The latest scheduled time at or before now, after `earliest`.
    pub most_recent: Option<Timestamp>,
    pub missed: Missed,
}

/// A schedule that never fires again, or fires twice in the same second.
pub const INVALID_SCHEDULE: &str = "time difference between two schedules is less than 1 second";

impl Timing<'_> {
    fn next(&self, t: Timestamp) -> Option<Timestamp> {
        self.schedule.next(t, self.zone)
    }

    /// mostRecentScheduleTime: the latest unmet scheduled time, estimating how many were
    /// missed from the interval between the first two after `earliest` (so a schedule down
    /// for years costs a few steps, not one per missed time).
    pub fn most_recent(&self, now: Timestamp, include_deadline: bool) -> Result<Recent, String> {
        let mut earliest = self.last_schedule.unwrap_or(self.created);
        if include_deadline && let Some(secs) = self.starting_deadline_seconds {
            let deadline = now - SignedDuration::from_secs(secs);
            if deadline > earliest {
                earliest = deadline;
            }
        }
        let none = |missed| Recent {
            earliest,
            most_recent: None,
            missed,
        };
        let (Some(t1), Some(t2)) = (
            self.next(earliest),
            self.next(earliest).and_then(|t| self.next(t)),
        ) else {
            return Err(INVALID_SCHEDULE.to_string());
        };
        if now < t1 {
            return Ok(none(Missed::None));
        }
        if now < t2 {
            return Ok(Recent {
                earliest,
                most_recent: Some(t1),
                missed: Missed::None,
            });
        }
        // rounded to the second, as Go's Duration.Round does
        let between_nanos = t2.duration_since(t1).as_nanos();
        let between = ((between_nanos + 500_000_000) / 1_000_000_000) as i64;
        if between < 1 {
            return Err(INVALID_SCHEDULE.to_string());
        }
        let elapsed = now.duration_since(t1).as_secs();
        let missed_count = elapsed / between + 1;
        // one interval before the estimate, and the schedule steps from there
        let potential = t1 + SignedDuration::from_secs((missed_count - 2) * between);
        let mut most_recent = None;
        let mut t = self.next(potential);
        while let Some(at) = t.filter(|at| *at <= now) {
            most_recent = Some(at);
            t = self.next(at);
        }
        let missed = if missed_count > TOO_MANY_MISSED {
            Missed::Many
        } else if missed_count > 0 {
            Missed::Few
        } else {
            Missed::None
        };
        Ok(Recent {
            earliest,
            most_recent,
            missed,
        })
    }

    /// nextScheduleTime: the scheduled time to start a Job for now, if any.
    pub fn unmet(&self, now: Timestamp) -> Result<(Option<Timestamp>, Missed), String> {
        let r = self.most_recent(now, true)?;
        Ok((r.most_recent.filter(|t| *t <= now), r.missed))
    }

    /// nextScheduleTimeDuration: how long until the controller should look again; None when
    /// the schedule never fires again.
    pub fn requeue_after(&self, now: Timestamp) -> Option<Duration> {
        let base = match self.most_recent(now, false) {
            Err(_) => now,
            Ok(Recent {
                most_recent: Some(t),
                ..
            }) => t,
            Ok(Recent {
                earliest,
                missed: Missed::None,
                ..
            }) => earliest,
            Ok(_) => now,
        };
        let next = self.next(base)?;
        let wait = next.duration_since(now) + SignedDuration::try_from(NEXT_SCHEDULE_DELTA).ok()?;
        Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
    }
}

/// What the concurrency policy says about starting a Job while `active` Jobs run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    Start,
    /// Forbid with a Job still running: skip this time (event JobAlreadyActive).
    Skip,
    /// Replace: delete the running Jobs, then start.
    ReplaceThenStart,
}

pub fn concurrency(policy: Option<&str>, active: usize) -> Concurrency {
    match policy {
        Some("Forbid") if active > 0 => Concurrency::Skip,
        Some("Replace") if active > 0 => Concurrency::ReplaceThenStart,
        _ => Concurrency::Start,
    }
}

/// The Job name for a scheduled time: `<cronjob>-<minutes since the epoch>`, the same on every
/// controller so a time is never started twice.
pub fn job_name(cronjob: &str, scheduled: Timestamp) -> String {
    format!("{cronjob}-{}", scheduled.as_second().div_euclid(60))
}

/// The `batch.kubernetes.io/cronjob-scheduled-timestamp` value: RFC 3339 in spec.timeZone
/// (UTC when unset), `Z` for a zero offset as Go writes it.
pub fn scheduled_timestamp(scheduled: Timestamp, zone: &TimeZone) -> String {
    let z = scheduled.to_zoned(zone.clone());
    if z.offset().seconds() == 0 {
        z.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// Go's RFC1123Z in UTC, as the MissSchedule event writes the missed time.
pub fn rfc1123z(t: Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// A finished Job as history cleanup sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    pub name: String,
    pub start_time: Option<Timestamp>,
}

/// The Jobs to delete so at most `limit` remain: the oldest by start time (Jobs without one
/// last), names breaking ties.
pub fn over_history_limit(mut jobs: Vec<Finished>, limit: i32) -> Vec<String> {
    let excess = jobs.len() as i64 - i64::from(limit.max(0));
    if excess <= 0 {
        return Vec::new();
    }
    jobs.sort_by(|a, b| match (a.start_time, b.start_time) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        _ => a.name.cmp(&b.name),
    });
    jobs.into_iter()
        .take(excess as usize)
        .map(|j| j.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn timing<'a>(
        s: &'a Schedule,
        zone: &'a TimeZone,
        created: &str,
        last: Option<&str>,
        deadline: Option<i64>,
    ) -> Timing<'a> {
        Timing {
            schedule: s,
            zone,
            created: ts(created),
            last_schedule: last.map(ts),
            starting_deadline_seconds: deadline,
        }
    }

    #[test]
    fn most_recent_schedule_times() {
        let every_minute = Schedule::parse("* * * * *").expect("valid");
        let hourly = Schedule::parse("0 * * * *").expect("valid");
        let utc = TimeZone::UTC;
        // created 10:00:30, now 10:00:59: nothing due yet
        let t = timing(&every_minute, &utc, "2024-01-01T10:00:30Z", None, None);
        assert_eq!(
            t.most_recent(ts("2024-01-01T10:00:59Z"), true),
            Ok(Recent {
                earliest: ts("2024-01-01T10:00:30Z"),
                most_recent: None,
                missed: Missed::None
            })
        );
        // now 10:01:05: 10:01 is due, nothing missed
        assert_eq!(
            t.unmet(ts("2024-01-01T10:01:05Z")),
            Ok((Some(ts("2024-01-01T10:01:00Z")), Missed::None))
        );
        // last ran 10:01, now 10:05:10: four more missed, the latest is 10:05
        let t = timing(
            &every_minute,
            &utc,
            "2024-01-01T10:00:30Z",
            Some("2024-01-01T10:01:00Z"),
            None,
        );
        assert_eq!(
            t.unmet(ts("2024-01-01T10:05:10Z")),
            Ok((Some(ts("2024-01-01T10:05:00Z")), Missed::Few))
        );
        // hourly, down for four days: 99 missed are a few
        let t = timing(&hourly, &utc, "2024-01-01T00:00:00Z", None, None);
        assert_eq!(
            t.unmet(ts("2024-01-05T03:30:00Z")),
            Ok((Some(ts("2024-01-05T03:00:00Z")), Missed::Few))
        );
        // down for a week: too many missed, the latest is still found
        assert_eq!(
            t.unmet(ts("2024-01-08T03:30:00Z")),
            Ok((Some(ts("2024-01-08T03:00:00Z")), Missed::Many))
        );
        // a starting deadline moves the earliest time up, so fewer count as missed
        let t = timing(&hourly, &utc, "2024-01-01T00:00:00Z", None, Some(7200));
        let r = t.most_recent(ts("2024-01-05T03:30:00Z"), true).expect("ok");
        assert_eq!(r.earliest, ts("2024-01-05T01:30:00Z"));
        assert_eq!(r.most_recent, Some(ts("2024-01-05T03:00:00Z")));
        assert_eq!(r.missed, Missed::Few);
        // never again (Feb 30)
        let never = Schedule::parse("0 0 30 2 *").expect("valid");
        let t = timing(&never, &utc, "2024-01-01T00:00:00Z", None, None);
        assert_eq!(
            t.unmet(ts("2024-06-01T00:00:00Z")),
            Err(INVALID_SCHEDULE.to_string())
        );
        assert_eq!(t.requeue_after(ts("2024-06-01T00:00:00Z")), None);
    }

    #[test]
    fn exactly_one_hundred_and_one_missed_is_too_many() {
        let every_minute = Schedule::parse("* * * * *").expect("valid");
        let utc = TimeZone::UTC;
        let t = timing(&every_minute, &utc, "2024-01-01T00:00:00Z", None, None);
        // t1 = 00:01; at 01:40 that is 100 missed, at 01:41 it is 101
        assert_eq!(
            t.unmet(ts("2024-01-01T01:40:00Z")),
            Ok((Some(ts("2024-01-01T01:40:00Z")), Missed::Few))
        );
        assert_eq!(
            t.unmet(ts("2024-01-01T01:41:00Z")),
            Ok((Some(ts("2024-01-01T01:41:00Z")), Missed::Many))
        );
    }

    #[test]
    fn requeue_lands_just_after_the_next_time() {
        let every_five = Schedule::parse("*/5 * * * *").expect("valid");
        let utc = TimeZone::UTC;
        let t = timing(
            &every_five,
            &utc,
            "2024-01-01T10:00:00Z",
            Some("2024-01-01T10:05:00Z"),
            None,
        );
        assert_eq!(
            t.requeue_after(ts("2024-01-01T10:06:00Z")),
            Some(Duration::from_millis(4 * 60_000 + 100))
        );
        // missed ones (last 10:05, now 10:17:30): after the latest missed (10:15), so 10:20
        assert_eq!(
            t.requeue_after(ts("2024-01-01T10:17:30Z")),
            Some(Duration::from_millis(2 * 60_000 + 30_000 + 100))
        );
        // in a zone: 09:00 Berlin = 08:00Z in January
        let daily = Schedule::parse("0 9 * * *").expect("valid");
        let berlin = TimeZone::get("Europe/Berlin").expect("zone");
        let t = timing(&daily, &berlin, "2024-01-01T07:00:00Z", None, None);
        assert_eq!(
            t.requeue_after(ts("2024-01-01T07:30:00Z")),
            Some(Duration::from_millis(30 * 60_000 + 100))
        );
    }

    #[test]
    fn concurrency_policies() {
        assert_eq!(concurrency(None, 3), Concurrency::Start);
        assert_eq!(concurrency(Some("Allow"), 3), Concurrency::Start);
        assert_eq!(concurrency(Some("Forbid"), 0), Concurrency::Start);
        assert_eq!(concurrency(Some("Forbid"), 1), Concurrency::Skip);
        assert_eq!(concurrency(Some("Replace"), 0), Concurrency::Start);
        assert_eq!(
            concurrency(Some("Replace"), 2),
            Concurrency::ReplaceThenStart
        );
    }

    #[test]
    fn names_and_timestamps() {
        assert_eq!(
            job_name("hello", ts("2024-01-01T10:05:00Z")),
            "hello-28401725"
        );
        let t = ts("2024-07-01T10:05:00Z");
        assert_eq!(
            scheduled_timestamp(t, &TimeZone::UTC),
            "2024-07-01T10:05:00Z"
        );
        let berlin = TimeZone::get("Europe/Berlin").expect("zone");
        assert_eq!(scheduled_timestamp(t, &berlin), "2024-07-01T12:05:00+02:00");
        let london = TimeZone::get("Europe/London").expect("zone");
        assert_eq!(
            scheduled_timestamp(ts("2024-01-01T10:05:00Z"), &london),
            "2024-01-01T10:05:00Z"
        );
        assert_eq!(rfc1123z(t), "Mon, 01 Jul 2024 10:05:00 +0000");
    }

    #[test]
    fn history_keeps_the_newest() {
        let f = |name: &str, start: Option<&str>| Finished {
            name: name.into(),
            start_time: start.map(ts),
        };
        let jobs = vec![
            f("c", Some("2024-01-01T10:02:00Z")),
            f("a", Some("2024-01-01T10:00:00Z")),
            f("none", None),
            f("b2", Some("2024-01-01T10:01:00Z")),
            f("b1", Some("2024-01-01T10:01:00Z")),
        ];
        assert_eq!(over_history_limit(jobs.clone(), 5), Vec::<String>::new());
        assert_eq!(over_history_limit(jobs.clone(), 3), ["a", "b1"]);
        assert_eq!(over_history_limit(jobs, 0), ["a", "b1", "b2", "c", "none"]);
    }
}
