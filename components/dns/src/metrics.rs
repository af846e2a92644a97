//! Counters of the DNS server, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use hickory_server::proto::op::ResponseCode;

/// Response codes counted by name; anything else is `other`.
const RCODES: [(&str, ResponseCode); 6] = [
    ("NOERROR", ResponseCode::NoError),
    ("FORMERR", ResponseCode::FormErr),
    ("SERVFAIL", ResponseCode::ServFail),
    ("NXDOMAIN", ResponseCode::NXDomain),
    ("NOTIMP", ResponseCode::NotImp),
    ("REFUSED", ResponseCode::Refused),
];

/// Upper bounds (seconds) of the upstream latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.5, 2.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    pub udp_requests: AtomicU64,
    pub tcp_requests: AtomicU64,
    /// Packets that were not a parsable DNS query: dropped without an answer.
    pub malformed: AtomicU64,
    responses: [AtomicU64; RCODES.len() + 1],
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub upstream_errors: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    pub fn response(&self, rcode: ResponseCode) {
        let i = RCODES
            .iter()
            .position(|(_, c)| *c == rcode)
            .unwrap_or(RCODES.len());
        self.responses[i].fetch_add(1, Relaxed);
    }

    pub fn responses(&self, rcode: ResponseCode) -> u64 {
        RCODES
            .iter()
            .position(|(_, c)| *c == rcode)
            .map(|i| self.responses[i].load(Relaxed))
            .unwrap_or(0)
    }

    pub fn upstream_latency(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.latency_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_micros
            .fetch_add(took.as_micros() as u64, Relaxed);
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, samples: &[(String, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, v) in samples {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        counter(
            &mut out,
            "warren_dns_requests_total",
            "DNS queries received, by transport.",
            &[
                ("{proto=\"udp\"}".into(), self.udp_requests.load(Relaxed)),
                ("{proto=\"tcp\"}".into(), self.tcp_requests.load(Relaxed)),
            ],
        );
        let mut by_rcode: Vec<(String, u64)> = RCODES
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                (
                    format!("{{rcode=\"{name}\"}}"),
                    self.responses[i].load(Relaxed),
                )
            })
            .collect();
        by_rcode.push((
            "{rcode=\"other\"}".into(),
            self.responses[RCODES.len()].load(Relaxed),
        ));
        counter(
            &mut out,
            "warren_dns_responses_total",
            "DNS responses sent, by response code.",
            &by_rcode,
        );
        counter(
            &mut out,
            "warren_dns_malformed_requests_total",
            "Packets dropped because they were not a parsable DNS query.",
            &[(String::new(), self.malformed.load(Relaxed))],
        );
        counter(
            &mut out,
            "warren_dns_cache_hits_total",
            "Forwarded questions answered from the cache.",
            &[(String::new(), self.cache_hits.load(Relaxed))],
        );
        counter(
            &mut out,
            "warren_dns_cache_misses_total",
            "Forwarded questions sent to an upstream resolver.",
            &[(String::new(), self.cache_misses.load(Relaxed))],
        );
        counter(
            &mut out,
            "warren_dns_upstream_errors_total",
            "Upstream exchanges that failed (timeout, refused, malformed answer).",
            &[(String::new(), self.upstream_errors.load(Relaxed))],
        );
        let name = "warren_dns_upstream_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time an upstream resolver took to answer.\n# TYPE {name} histogram"
        );
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{le}\"}} {}",
                self.latency_buckets[i].load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.latency_sum_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.udp_requests.fetch_add(3, Relaxed);
        m.response(ResponseCode::NXDomain);
        m.response(ResponseCode::BADVERS);
        m.upstream_latency(Duration::from_millis(3));
        let text = m.render();
        assert!(text.contains("warren_dns_requests_total{proto=\"udp\"} 3\n"));
        assert!(text.contains("warren_dns_responses_total{rcode=\"NXDOMAIN\"} 1\n"));
        assert!(text.contains("warren_dns_responses_total{rcode=\"other\"} 1\n"));
        assert!(
            text.contains("warren_dns_upstream_request_duration_seconds_bucket{le=\"0.002\"} 0\n")
        );
        assert!(
            text.contains("warren_dns_upstream_request_duration_seconds_bucket{le=\"0.004\"} 1\n")
        );
        assert!(text.contains("warren_dns_upstream_request_duration_seconds_count 1\n"));
    }
}
