//! Cron schedules as CronJobs write them: five fields (minute, hour, day of month, month, day
//! of week) with `*`/`?`, ranges `a-b`, steps `/n`, lists `a,b` and month/weekday names, or a
//! descriptor (`@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`,
//! `@every <duration>`), optionally prefixed with `CRON_TZ=<zone>` or `TZ=<zone>`. This is the
//! grammar of robfig/cron's standard parser that kube-controller-manager uses; errors carry its
//! messages, which kube shows in events.
//!
//! [`Schedule::next`] finds the next matching minute in the schedule's civil time (its zone, or
//! the zone the caller gives): a civil time that a DST gap skips fires as far past the gap as it
//! is into it, and one that a DST fold repeats fires at both instants.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};

/// Why a schedule does not parse (robfig/cron's message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ScheduleError> {
    Err(ScheduleError(msg.into()))
}

/// A parsed schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    kind: Kind,
    /// From a `CRON_TZ=`/`TZ=` prefix.
    zone: Option<TimeZone>,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Fields(Fields),
    /// `@every`: a fixed delay (whole seconds, at least one).
    Every(SignedDuration),
}

/// One bit per allowed value; `*_star` when the field began with `*` or `?` and had no step
/// above 1 (robfig's star bit, which changes how day of month and day of week combine).
#[derive(Clone, Debug, PartialEq)]
struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    dom_star: bool,
    dow_star: bool,
}

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// What the first name stands for (1 for months, 0 for weekdays).
    first_name_value: u32,
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
    first_name_value: 0,
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
    first_name_value: 0,
};
const DAYS_OF_MONTH: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
    first_name_value: 0,
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
    first_name_value: 1,
};
const DAYS_OF_WEEK: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    first_name_value: 0,
};

/// A time zone by IANA name, with Go's LoadLocation error text.
pub fn load_zone(name: &str) -> Result<TimeZone, ScheduleError> {
    match name {
        "" | "UTC" => Ok(TimeZone::UTC),
        // Go's "Local" is the controller's zone; ours is UTC (see the module docs of cronjob)
        "Local" => Ok(TimeZone::UTC),
        _ => TimeZone::get(name).map_err(|_| ScheduleError(format!("unknown time zone {name}"))),
    }
}

impl Schedule {
    /// Parses a schedule (cron.ParseStandard).
    pub fn parse(spec: &str) -> Result<Schedule, ScheduleError> {
        if spec.is_empty() {
            return err("empty spec string");
        }
        let mut rest = spec;
        let mut zone = None;
        if rest.starts_with("TZ=") || rest.starts_with("CRON_TZ=") {
            let eq = rest.find('=').unwrap_or(0);
            let end = rest.find(' ').unwrap_or(rest.len());
            let name = &rest[eq + 1..end];
            zone =
                Some(load_zone(name).map_err(|e| {
                    ScheduleError(format!("provided bad location {name}: {}", e.0))
                })?);
            rest = rest[end..].trim();
        }
        if let Some(descriptor) = rest.strip_prefix('@') {
            let fields = match descriptor {
                "yearly" | "annually" => "0 0 1 1 *",
                "monthly" => "0 0 1 * *",
                "weekly" => "0 0 * * 0",
                "daily" | "midnight" => "0 0 * * *",
                "hourly" => "0 * * * *",
                d => {
                    let Some(text) = d.strip_prefix("every ") else {
                        return err(format!("unrecognized descriptor: {rest}"));
                    };
                    let delay = go_duration(text).ok_or_else(|| {
                        ScheduleError(format!(
                            "failed to parse duration {rest}: time: invalid duration \"{text}\""
                        ))
                    })?;
                    // robfig rounds down to whole seconds, at least one
                    let secs = delay.as_secs().max(1);
                    return Ok(Schedule {
                        kind: Kind::Every(SignedDuration::from_secs(secs)),
                        zone,
                    });
                }
            };
            return Ok(Schedule {
                kind: Kind::Fields(parse_fields(fields)?),
                zone,
            });
        }
        Ok(Schedule {
            kind: Kind::Fields(parse_fields(rest)?),
            zone,
        })
    }

    /// The zone of a `CRON_TZ=`/`TZ=` prefix.
    pub fn zone(&self) -> Option<&TimeZone> {
        self.zone.as_ref()
    }

    /// The first activation strictly after `after`, in the schedule's own zone or else
    /// `default_zone`; None when nothing matches within five years (`0 0 30 2 *`).
    pub fn next(&self, after: Timestamp, default_zone: &TimeZone) -> Option<Timestamp> {
        let zone = self.zone.as_ref().unwrap_or(default_zone);
        match &self.kind {
            Kind::Every(delay) => {
                let whole = Timestamp::from_second(after.as_second()).ok()?;
                whole.checked_add(*delay).ok()
            }
            Kind::Fields(f) => {
                let civil = zone.to_datetime(after);
                // from the minute `after` is in: in a fold its civil time comes round again
                let mut from = civil.with().second(0).subsec_nanosecond(0).build().ok()?;
                let limit_year = civil.year() + 5;
                loop {
                    let candidate = f.next_civil(from, limit_year)?;
                    let ambiguous = zone.to_ambiguous_timestamp(candidate);
                    // a folded civil time happens twice (and fires twice, as with robfig's
                    // absolute-time stepping); a skipped one fires past the gap
                    let instants = match ambiguous.offset() {
                        AmbiguousOffset::Fold { .. } => {
                            [ambiguous.earlier().ok(), ambiguous.later().ok()]
                        }
                        _ => [ambiguous.compatible().ok(), None],
                    };
                    if let Some(at) = instants.into_iter().flatten().find(|at| *at > after) {
                        return Some(at);
                    }
                    from = candidate.checked_add(1.minute()).ok()?;
                }
            }
        }
    }
}

impl Fields {
    fn day_matches(&self, d: Date) -> bool {
        let dom = self.dom & (1 << d.day()) != 0;
        let dow = self.dow & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first civil minute at or after `from` that matches, before `limit_year`.
    fn next_civil(&self, mut t: DateTime, limit_year: i16) -> Option<DateTime> {
        let midnight = |d: Date| d.to_datetime(Time::midnight());
        loop {
            if t.year() > limit_year {
                return None;
            }
            if self.month & (1 << t.month()) == 0 {
                t = midnight(t.date().first_of_month().checked_add(1.month()).ok()?);
                continue;
            }
            if !self.day_matches(t.date()) {
                t = midnight(t.date().checked_add(1.day()).ok()?);
                continue;
            }
            if self.hour & (1 << t.hour()) == 0 {
                t = t
                    .with()
                    .minute(0)
                    .build()
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
                continue;
            }
            if self.minute & (1 << t.minute()) == 0 {
                t = t.checked_add(1.minute()).ok()?;
                continue;
            }
            return Some(t);
        }
    }
}

fn parse_fields(spec: &str) -> Result<Fields, ScheduleError> {
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    let (minute, _) = parse_field(fields[0], &MINUTES)?;
    let (hour, _) = parse_field(fields[1], &HOURS)?;
    let (dom, dom_star) = parse_field(fields[2], &DAYS_OF_MONTH)?;
    let (month, _) = parse_field(fields[3], &MONTHS)?;
    let (dow, dow_star) = parse_field(fields[4], &DAYS_OF_WEEK)?;
    Ok(Fields {
        minute,
        hour,
        dom,
        month,
        dow,
        dom_star,
        dow_star,
    })
}

/// A comma-separated list of ranges: the bits it allows and whether it carries the star bit.
fn parse_field(field: &str, b: &Bounds) -> Result<(u64, bool), ScheduleError> {
    let mut bits = 0;
    let mut star = false;
    for expr in field.split(',') {
        let (b2, s) = parse_range(expr, b)?;
        bits |= b2;
        star |= s;
    }
    Ok((bits, star))
}

fn parse_range(expr: &str, b: &Bounds) -> Result<(u64, bool), ScheduleError> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_high.len() == 1;
    let mut star = false;
    let (start, mut end) = if matches!(low_high[0], "*" | "?") {
        star = true;
        (b.min, b.max)
    } else {
        let start = value(low_high[0], b)?;
        match low_high.len() {
            1 => (start, start),
            2 => (start, value(low_high[1], b)?),
            _ => return err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = number(range_and_step[1])?;
            // "N/step" means "N-max/step"
            if single {
                end = b.max;
            }
            if step > 1 {
                star = false;
            }
            step
        }
        _ => return err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return err(format!("step of range should be a positive number: {expr}"));
    }
    let bits = (start..=end)
        .step_by(step as usize)
        .fold(0u64, |acc, v| acc | (1 << v));
    Ok((bits, star))
}

/// A name (case-insensitive) or a number.
fn value(expr: &str, b: &Bounds) -> Result<u32, ScheduleError> {
    let lower = expr.to_ascii_lowercase();
    match b.names.iter().position(|n| *n == lower) {
        Some(i) => Ok(i as u32 + b.first_name_value),
        None => number(expr),
    }
}

/// strconv.Atoi plus robfig's negative check, with their messages.
fn number(expr: &str) -> Result<u32, ScheduleError> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return err(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing \"{expr}\": invalid syntax"
        ));
    }
    match expr.parse::<i64>() {
        Ok(n) if n < 0 => err(format!("negative number ({n}) not allowed: {expr}")),
        // anything past 63 is outside every field's bounds; keep it for the range message
        Ok(n) => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
        Err(_) => err(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing \"{expr}\": value out of range"
        )),
    }
}

/// Go's time.ParseDuration (units ns, us/µs, ms, s, m, h; fractions; a sign).
pub fn go_duration(s: &str) -> Option<SignedDuration> {
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(SignedDuration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total_nanos += value * scale;
    }
    let nanos = total_nanos.round() as i128;
    let d = SignedDuration::from_nanos_i128(nanos);
    Some(if negative { -d } else { d })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn next_utc(spec: &str, after: &str) -> String {
        Schedule::parse(spec)
            .expect("valid")
            .next(ts(after), &TimeZone::UTC)
            .map(|t| t.to_string())
            .unwrap_or_else(|| "none".into())
    }

    /// The first `n` activations after `after`.
    fn series(spec: &str, zone: &TimeZone, after: &str, n: usize) -> Vec<String> {
        let s = Schedule::parse(spec).expect("valid");
        let mut t = ts(after);
        let mut out = Vec::new();
        for _ in 0..n {
            t = s.next(t, zone).expect("next");
            out.push(t.to_string());
        }
        out
    }

    #[test]
    fn parses_fields_into_bits() {
        let Kind::Fields(f) = Schedule::parse("*/15 9-17 1,15 JAN-mar MON-FRI")
            .expect("valid")
            .kind
        else {
            panic!("fields")
        };
        assert_eq!(f.minute, (1 << 0) | (1 << 15) | (1 << 30) | (1 << 45));
        assert_eq!(f.hour, (9..=17).fold(0, |a, h| a | (1 << h)));
        assert_eq!(f.dom, (1 << 1) | (1 << 15));
        assert_eq!(f.month, 0b1110);
        assert_eq!(f.dow, 0b0111110);
        assert!(!f.dom_star && !f.dow_star);
        let Kind::Fields(f) = Schedule::parse("5/20 * ? * *").expect("valid").kind else {
            panic!("fields")
        };
        assert_eq!(f.minute, (1 << 5) | (1 << 25) | (1 << 45));
        assert!(f.dom_star && f.dow_star);
        // a step above 1 drops the star bit
        let Kind::Fields(f) = Schedule::parse("* * */2 * *").expect("valid").kind else {
            panic!("fields")
        };
        assert!(!f.dom_star);
    }

    #[test]
    fn descriptors_are_their_fields() {
        for (d, f) in [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
        ] {
            assert_eq!(
                Schedule::parse(d).expect("valid").kind,
                Schedule::parse(f).expect("valid").kind,
                "{d}"
            );
        }
    }

    #[test]
    fn rejects_with_clear_messages() {
        let cases = [
            ("", "empty spec string"),
            ("bad", "expected exactly 5 fields, found 1: [bad]"),
            ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
            (
                "* * * * * *",
                "expected exactly 5 fields, found 6: [* * * * * *]",
            ),
            ("60 * * * *", "end of range (60) above maximum (59): 60"),
            ("* 24 * * *", "end of range (24) above maximum (23): 24"),
            ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
            ("0 0 * 13 *", "end of range (13) above maximum (12): 13"),
            ("0 0 * * 7", "end of range (7) above maximum (6): 7"),
            (
                "5-1 * * * *",
                "beginning of range (5) beyond end of range (1): 5-1",
            ),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            ("*/2/3 * * * *", "too many slashes: */2/3"),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            // the hyphen splits a range first, as in robfig
            (
                "-1 * * * *",
                "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax",
            ),
            (
                "x * * * *",
                "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            (
                "0 0 * FOO *",
                "failed to parse int from FOO: strconv.Atoi: parsing \"FOO\": invalid syntax",
            ),
            ("@often", "unrecognized descriptor: @often"),
            (
                "@every soon",
                "failed to parse duration @every soon: time: invalid duration \"soon\"",
            ),
            (
                "TZ=Mars/Olympus 0 * * * *",
                "provided bad location Mars/Olympus: unknown time zone Mars/Olympus",
            ),
        ];
        for (spec, msg) in cases {
            assert_eq!(
                Schedule::parse(spec).map(|_| ()),
                Err(ScheduleError(msg.to_string())),
                "{spec:?}"
            );
        }
    }

    #[test]
    fn next_times_in_utc() {
        // strictly after, at whole minutes
        assert_eq!(
            next_utc("* * * * *", "2024-01-01T10:00:00Z"),
            "2024-01-01T10:01:00Z"
        );
        assert_eq!(
            next_utc("* * * * *", "2024-01-01T10:00:30.5Z"),
            "2024-01-01T10:01:00Z"
        );
        assert_eq!(
            next_utc("*/15 * * * *", "2024-01-01T10:07:00Z"),
            "2024-01-01T10:15:00Z"
        );
        assert_eq!(
            next_utc("0 0 * * *", "2024-12-31T23:59:00Z"),
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(
            next_utc("@hourly", "2024-03-10T23:00:00Z"),
            "2024-03-11T00:00:00Z"
        );
        // leap day
        assert_eq!(
            next_utc("0 12 29 2 *", "2024-03-01T00:00:00Z"),
            "2028-02-29T12:00:00Z"
        );
        // never (within five years): Feb 30
        assert_eq!(next_utc("0 0 30 2 *", "2024-01-01T00:00:00Z"), "none");
        // day of month OR day of week when both are restricted; AND when one is a star
        assert_eq!(
            series("0 0 13 * 5", &TimeZone::UTC, "2024-09-01T00:00:00Z", 3),
            [
                "2024-09-06T00:00:00Z",
                "2024-09-13T00:00:00Z",
                "2024-09-20T00:00:00Z"
            ]
        );
        assert_eq!(
            series("0 0 * * 5", &TimeZone::UTC, "2024-09-01T00:00:00Z", 2),
            ["2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z"]
        );
        assert_eq!(
            series(
                "30 9 * JAN,jul sun",
                &TimeZone::UTC,
                "2024-06-01T00:00:00Z",
                2
            ),
            ["2024-07-07T09:30:00Z", "2024-07-14T09:30:00Z"]
        );
        // @every counts from the previous time, in whole seconds
        assert_eq!(
            next_utc("@every 1m30s", "2024-01-01T10:00:00.250Z"),
            "2024-01-01T10:01:30Z"
        );
    }

    #[test]
    fn next_times_in_zones() {
        let berlin = load_zone("Europe/Berlin").expect("zone");
        // 09:00 Berlin is 08:00Z in winter and 07:00Z in summer
        assert_eq!(
            series("0 9 * * *", &berlin, "2024-03-29T12:00:00Z", 3),
            [
                "2024-03-30T08:00:00Z",
                "2024-03-31T07:00:00Z",
                "2024-04-01T07:00:00Z"
            ]
        );
        // the prefix wins over the default zone
        assert_eq!(
            series(
                "CRON_TZ=America/New_York 0 9 * * *",
                &berlin,
                "2024-01-01T00:00:00Z",
                1
            ),
            ["2024-01-01T14:00:00Z"]
        );
        assert_eq!(
            series(
                "TZ=Asia/Kolkata 30 0 * * *",
                &TimeZone::UTC,
                "2024-01-01T00:00:00Z",
                1
            ),
            ["2024-01-01T19:00:00Z"]
        );
        // spring forward in New York (2024-03-10 02:00 -> 03:00): 02:30 does not exist and
        // fires at 03:30 EDT
        let ny = load_zone("America/New_York").expect("zone");
        assert_eq!(
            series("30 2 * * *", &ny, "2024-03-09T12:00:00Z", 3),
            [
                "2024-03-10T07:30:00Z",
                "2024-03-11T06:30:00Z",
                "2024-03-12T06:30:00Z"
            ]
        );
        // fall back (2024-11-03 02:00 -> 01:00): 01:30 happens twice, EDT then EST
        assert_eq!(
            series("30 1 * * *", &ny, "2024-11-02T12:00:00Z", 3),
            [
                "2024-11-03T05:30:00Z",
                "2024-11-03T06:30:00Z",
                "2024-11-04T06:30:00Z"
            ]
        );
        // hourly through the fold fires every real hour
        assert_eq!(
            series("0 * * * *", &ny, "2024-11-03T04:30:00Z", 4),
            [
                "2024-11-03T05:00:00Z",
                "2024-11-03T06:00:00Z",
                "2024-11-03T07:00:00Z",
                "2024-11-03T08:00:00Z"
            ]
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("1h30m"), Some(SignedDuration::from_mins(90)));
        assert_eq!(go_duration("300ms"), Some(SignedDuration::from_millis(300)));
        assert_eq!(go_duration("1.5s"), Some(SignedDuration::from_millis(1500)));
        assert_eq!(go_duration("0"), Some(SignedDuration::ZERO));
        assert_eq!(go_duration("-2s"), Some(SignedDuration::from_secs(-2)));
        assert_eq!(go_duration("5"), None);
        assert_eq!(go_duration("soon"), None);
        assert_eq!(go_duration(""), None);
    }
}
