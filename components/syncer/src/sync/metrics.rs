//! Prometheus metrics of the sync loops: queue depth, sync latency and outcomes, served as
//! text on a small HTTP listener (`GET /metrics`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use warren_controllers::queue::Queue;

/// Upper bounds (seconds) of the sync latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One loop's numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoopStats {
    /// Syncs per bucket of [`LATENCY_BUCKETS`] (not cumulative), plus one for +Inf.
    pub buckets: [u64; LATENCY_BUCKETS.len() + 1],
    pub sum_seconds: f64,
    pub count: u64,
    pub errors: u64,
}

impl LoopStats {
    pub fn observe(&mut self, took: Duration, ok: bool) {
        let seconds = took.as_secs_f64();
        let index = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[index] += 1;
        self.sum_seconds += seconds;
        self.count += 1;
        if !ok {
            self.errors += 1;
        }
    }
}

/// A loop's queue (for its depth) and numbers.
type Loops = BTreeMap<&'static str, (Option<Queue>, LoopStats)>;

/// The metrics of every loop.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Loops>>,
}

impl Metrics {
    /// Makes a loop known (it shows with zeros before its first sync).
    pub fn register(&self, name: &'static str, queue: &Queue) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entry(name).or_default().0 = Some(queue.clone());
    }

    pub fn observe(&self, name: &'static str, took: Duration, ok: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entry(name).or_default().1.observe(took, ok);
    }

    /// The Prometheus text exposition of everything.
    pub fn render(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let rows: Vec<(&str, usize, LoopStats)> = inner
            .iter()
            .map(|(name, (queue, stats))| {
                (*name, queue.as_ref().map_or(0, Queue::len), stats.clone())
            })
            .collect();
        render(&rows)
    }
}

fn format_bound(bound: f64) -> String {
    let text = bound.to_string();
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// Renders `(loop, queue depth, stats)` rows.
pub fn render(rows: &[(&str, usize, LoopStats)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP warren_syncer_queue_depth Keys waiting in a sync loop's work queue."
    );
    let _ = writeln!(out, "# TYPE warren_syncer_queue_depth gauge");
    for (name, depth, _) in rows {
        let _ = writeln!(out, "warren_syncer_queue_depth{{loop=\"{name}\"}} {depth}");
    }
    let _ = writeln!(
        out,
        "# HELP warren_syncer_sync_duration_seconds Time one sync of one object took."
    );
    let _ = writeln!(out, "# TYPE warren_syncer_sync_duration_seconds histogram");
    for (name, _, stats) in rows {
        let mut cumulative = 0;
        for (bound, count) in LATENCY_BUCKETS.iter().zip(stats.buckets.iter()) {
            cumulative += count;
            let _ = writeln!(
                out,
                "warren_syncer_sync_duration_seconds_bucket{{loop=\"{name}\",le=\"{}\"}} {cumulative}",
                format_bound(*bound)
            );
        }
        let _ = writeln!(
            out,
            "warren_syncer_sync_duration_seconds_bucket{{loop=\"{name}\",le=\"+Inf\"}} {}",
            stats.count
        );
        let _ = writeln!(
            out,
            "warren_syncer_sync_duration_seconds_sum{{loop=\"{name}\"}} {}",
            stats.sum_seconds
        );
        let _ = writeln!(
            out,
            "warren_syncer_sync_duration_seconds_count{{loop=\"{name}\"}} {}",
            stats.count
        );
    }
    let _ = writeln!(
        out,
        "# HELP warren_syncer_sync_errors_total Syncs that failed (and were retried)."
    );
    let _ = writeln!(out, "# TYPE warren_syncer_sync_errors_total counter");
    for (name, _, stats) in rows {
        let _ = writeln!(
            out,
            "warren_syncer_sync_errors_total{{loop=\"{name}\"}} {}",
            stats.errors
        );
    }
    out
}

/// Serves `GET /metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Metrics) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            // The request line and headers; the body of a GET is ignored.
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                match tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await {
                    Ok(Ok(n)) if n > 0 => request.extend_from_slice(&buf[..n]),
                    _ => return,
                }
            }
            let line = String::from_utf8_lossy(&request);
            let mut parts = line.split_whitespace();
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let path = path.split('?').next().unwrap_or("");
            let (status, content_type, body) = if method == "GET" && path == "/metrics" {
                (
                    "200 OK",
                    "text/plain; version=0.0.4; charset=utf-8",
                    metrics.render(),
                )
            } else {
                (
                    "404 Not Found",
                    "text/plain; charset=utf-8",
                    "not found\n".to_owned(),
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

/// Binds `addr` for [`serve`].
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let mut stats = LoopStats::default();
        stats.observe(Duration::from_millis(3), true);
        stats.observe(Duration::from_millis(30), false);
        stats.observe(Duration::from_secs(20), true);
        let text = render(&[("pods", 7, stats)]);
        let expected = "\
# HELP warren_syncer_queue_depth Keys waiting in a sync loop's work queue.
# TYPE warren_syncer_queue_depth gauge
warren_syncer_queue_depth{loop=\"pods\"} 7
# HELP warren_syncer_sync_duration_seconds Time one sync of one object took.
# TYPE warren_syncer_sync_duration_seconds histogram
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"0.001\"} 0
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"0.005\"} 1
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"0.01\"} 1
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"0.025\"} 1
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"0.05\"} 2
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"0.1\"} 2
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"0.25\"} 2
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"0.5\"} 2
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"1.0\"} 2
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"2.5\"} 2
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"5.0\"} 2
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"10.0\"} 2
warren_syncer_sync_duration_seconds_bucket{loop=\"pods\",le=\"+Inf\"} 3
warren_syncer_sync_duration_seconds_sum{loop=\"pods\"} 20.033
warren_syncer_sync_duration_seconds_count{loop=\"pods\"} 3
# HELP warren_syncer_sync_errors_total Syncs that failed (and were retried).
# TYPE warren_syncer_sync_errors_total counter
warren_syncer_sync_errors_total{loop=\"pods\"} 1
";
        assert_eq!(text, expected);
    }

    #[tokio::test]
    async fn serves_metrics_over_http() {
        let metrics = Metrics::default();
        let queue = Queue::new();
        queue.add("a/b");
        metrics.register("pods", &queue);
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, metrics));
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        socket
            .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        socket.read_to_string(&mut response).await.unwrap();
        server.abort();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(
            response.contains("warren_syncer_queue_depth{loop=\"pods\"} 1\n"),
            "{response}"
        );
    }
}
