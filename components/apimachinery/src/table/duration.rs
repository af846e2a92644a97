//! `k8s.io/apimachinery/pkg/util/duration.HumanDuration` and the printers' timestamp helpers.

use chrono::{DateTime, TimeDelta, Utc};

/// `duration.HumanDuration`: about two significant figures. Seconds under 2 minutes
/// (`90s`), `XmYs` under 10 minutes, minutes under 3 hours (`125m`), `XhYm` under 8 hours,
/// hours under 2 days, `XdYh` under 8 days, days under 2 years, `XyYd` under 8 years, then
/// years. A little negative skew (down to -1s) reads `0s`; more is `<invalid>`.
pub fn human_duration(d: TimeDelta) -> String {
    let seconds = d.num_seconds(); // truncated toward zero, like int(d.Seconds())
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

/// `translateTimestampSince`: the age of `t` at `now`, or `<unknown>` when unset.
pub fn since(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        Some(t) => human_duration(now.signed_duration_since(t)),
        None => "<unknown>".to_owned(),
    }
}

/// Parses a `metav1.Time`/`MicroTime` (RFC 3339); anything else is unset.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
