//! Questions outside the cluster: asked of the upstream resolvers (UDP, TCP when the answer is
//! truncated), answers cached for as long as their TTLs allow.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_server::proto::op::{Edns, Message, Query, ResponseCode};
use hickory_server::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::metrics::Metrics;

/// Longest a positive answer is cached, and a negative one (CoreDNS's cache defaults).
const MAX_SUCCESS_TTL: u32 = 3600;
const MAX_DENIAL_TTL: u32 = 1800;
/// A negative answer without an SOA is cached this long.
const DEFAULT_DENIAL_TTL: u32 = 5;
/// Entries kept; past this, expired ones go first, then arbitrary ones.
const CACHE_CAPACITY: usize = 10_000;
/// EDNS payload size we advertise upstream (the DNS flag day 2020 value).
const UPSTREAM_PAYLOAD: u16 = 1232;

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("no upstream resolvers configured")]
    NoUpstreams,
    #[error("upstream {0} did not answer in time")]
    Timeout(SocketAddr),
    #[error("upstream {upstream}: {source}")]
    Io {
        upstream: SocketAddr,
        source: std::io::Error,
    },
    #[error("upstream {0} sent a malformed answer")]
    Malformed(SocketAddr),
}

/// An upstream's answer, TTLs already counted down to now.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub rcode: ResponseCode,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
    pub additionals: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    name: Name,
    qtype: RecordType,
    qclass: DNSClass,
    dnssec_ok: bool,
}

#[derive(Debug)]
struct CacheEntry {
    resolved: Arc<Resolved>,
    stored: Instant,
    expires: Instant,
}

pub struct Forwarder {
    upstreams: Vec<SocketAddr>,
    timeout: Duration,
    cache: Mutex<HashMap<CacheKey, CacheEntry>>,
    metrics: Arc<Metrics>,
}

/// The `nameserver` lines of a resolv.conf (port 53).
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver")).then_some(())?;
            let ip: std::net::IpAddr = words.next()?.parse().ok()?;
            Some(SocketAddr::new(ip, 53))
        })
        .collect()
}

/// The system's resolvers, from /etc/resolv.conf.
pub fn system_upstreams(path: &Path) -> Vec<SocketAddr> {
    std::fs::read_to_string(path)
        .map(|t| parse_resolv_conf(&t))
        .unwrap_or_default()
}

impl Forwarder {
    pub fn new(upstreams: Vec<SocketAddr>, timeout: Duration, metrics: Arc<Metrics>) -> Forwarder {
        Forwarder {
            upstreams,
            timeout,
            cache: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    pub fn upstreams(&self) -> &[SocketAddr] {
        &self.upstreams
    }

    fn key(name: &Name, qtype: RecordType, qclass: DNSClass, dnssec_ok: bool) -> CacheKey {
        CacheKey {
            name: name.to_lowercase(),
            qtype,
            qclass,
            dnssec_ok,
        }
    }

    /// A cached answer, if one is still fresh (counts a hit; a miss is counted by `resolve`).
    pub fn cached(
        &self,
        name: &Name,
        qtype: RecordType,
        qclass: DNSClass,
        dnssec_ok: bool,
    ) -> Option<Resolved> {
        let key = Self::key(name, qtype, qclass, dnssec_ok);
        let now = Instant::now();
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let entry = cache.get(&key).filter(|e| e.expires > now)?;
        let age = now.duration_since(entry.stored).as_secs() as u32;
        let mut resolved = (*entry.resolved).clone();
        drop(cache);
        for r in resolved
            .answers
            .iter_mut()
            .chain(resolved.authorities.iter_mut())
            .chain(resolved.additionals.iter_mut())
        {
            r.ttl = r.ttl.saturating_sub(age);
        }
        self.metrics
            .cache_hits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(resolved)
    }

    /// The answer from the cache or, failing that, from the upstreams in order.
    pub async fn resolve(
        &self,
        name: &Name,
        qtype: RecordType,
        qclass: DNSClass,
        dnssec_ok: bool,
    ) -> Result<Resolved, ForwardError> {
        if let Some(hit) = self.cached(name, qtype, qclass, dnssec_ok) {
            return Ok(hit);
        }
        self.metrics
            .cache_misses
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.upstreams.is_empty() {
            return Err(ForwardError::NoUpstreams);
        }
        let mut last = ForwardError::NoUpstreams;
        for upstream in &self.upstreams {
            let started = Instant::now();
            match self
                .exchange(*upstream, name, qtype, qclass, dnssec_ok)
                .await
            {
                Ok(message) => {
                    self.metrics.upstream_latency(started.elapsed());
                    let resolved = Resolved {
                        rcode: message.metadata.response_code,
                        answers: message.answers,
                        authorities: message.authorities,
                        additionals: message.additionals,
                    };
                    self.store(name, qtype, qclass, dnssec_ok, &resolved);
                    return Ok(resolved);
                }
                Err(e) => {
                    self.metrics
                        .upstream_errors
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(error = %e, "upstream");
                    last = e;
                }
            }
        }
        Err(last)
    }

    fn store(
        &self,
        name: &Name,
        qtype: RecordType,
        qclass: DNSClass,
        dnssec_ok: bool,
        resolved: &Resolved,
    ) {
        let Some(ttl) = cache_ttl(resolved) else {
            return;
        };
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, e| e.expires > now);
            if cache.len() >= CACHE_CAPACITY {
                let drop_keys: Vec<CacheKey> =
                    cache.keys().take(CACHE_CAPACITY / 4).cloned().collect();
                for k in drop_keys {
                    cache.remove(&k);
                }
            }
        }
        cache.insert(
            Self::key(name, qtype, qclass, dnssec_ok),
            CacheEntry {
                resolved: Arc::new(resolved.clone()),
                stored: now,
                expires: now + Duration::from_secs(u64::from(ttl)),
            },
        );
    }

    async fn exchange(
        &self,
        upstream: SocketAddr,
        name: &Name,
        qtype: RecordType,
        qclass: DNSClass,
        dnssec_ok: bool,
    ) -> Result<Message, ForwardError> {
        let mut query = Message::query();
        query.metadata.recursion_desired = true;
        let mut q = Query::query(name.clone(), qtype);
        q.set_query_class(qclass);
        query.add_query(q);
        let mut edns = Edns::new();
        edns.set_max_payload(UPSTREAM_PAYLOAD);
        edns.set_dnssec_ok(dnssec_ok);
        query.set_edns(edns);
        let bytes = query
            .to_vec()
            .map_err(|_| ForwardError::Malformed(upstream))?;
        let io = |source| ForwardError::Io { upstream, source };
        let deadline = Instant::now() + self.timeout;

        let bind: SocketAddr = if upstream.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(bind).await.map_err(io)?;
        socket.connect(upstream).await.map_err(io)?;
        socket.send(&bytes).await.map_err(io)?;
        let mut buf = vec![0u8; 65535];
        let answer = loop {
            let n = tokio::time::timeout_at(deadline.into(), socket.recv(&mut buf))
                .await
                .map_err(|_| ForwardError::Timeout(upstream))?
                .map_err(io)?;
            // Ignore anything that is not the answer to this query (late or spoofed packets).
            match Message::from_vec(&buf[..n]) {
                Ok(m) if m.metadata.id == query.metadata.id && m.queries == query.queries => {
                    break m;
                }
                _ => continue,
            }
        };
        if !answer.metadata.truncation {
            return Ok(answer);
        }
        // Truncated: ask again over TCP.
        let exchange_tcp = async {
            let mut stream = TcpStream::connect(upstream).await.map_err(io)?;
            let mut framed = Vec::with_capacity(bytes.len() + 2);
            framed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            framed.extend_from_slice(&bytes);
            stream.write_all(&framed).await.map_err(io)?;
            let len = stream.read_u16().await.map_err(io)? as usize;
            let mut body = vec![0u8; len];
            stream.read_exact(&mut body).await.map_err(io)?;
            Message::from_vec(&body).map_err(|_| ForwardError::Malformed(upstream))
        };
        let message = tokio::time::timeout_at(deadline.into(), exchange_tcp)
            .await
            .map_err(|_| ForwardError::Timeout(upstream))??;
        if message.metadata.id != query.metadata.id {
            return Err(ForwardError::Malformed(upstream));
        }
        Ok(message)
    }
}

/// How long an answer may be cached: the smallest answer TTL for data, the SOA's negative TTL
/// for NXDOMAIN/NODATA; errors are not cached.
pub fn cache_ttl(resolved: &Resolved) -> Option<u32> {
    let ttl = match resolved.rcode {
        ResponseCode::NoError if !resolved.answers.is_empty() => resolved
            .answers
            .iter()
            .map(|r| r.ttl)
            .min()
            .unwrap_or(0)
            .min(MAX_SUCCESS_TTL),
        ResponseCode::NoError | ResponseCode::NXDomain => resolved
            .authorities
            .iter()
            .find_map(|r| match &r.data {
                RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
                _ => None,
            })
            .unwrap_or(DEFAULT_DENIAL_TTL)
            .min(MAX_DENIAL_TTL),
        _ => return None,
    };
    (ttl > 0).then_some(ttl)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::str::FromStr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use hickory_server::proto::rr::rdata::{A, SOA};

    use super::*;

    #[test]
    fn resolv_conf_nameservers() {
        let text = "# comment\nsearch example.com\nnameserver 10.0.0.2\nnameserver fd00::53\nnameserver bogus\noptions ndots:5\n";
        assert_eq!(
            parse_resolv_conf(text),
            vec![
                "10.0.0.2:53".parse::<SocketAddr>().unwrap(),
                "[fd00::53]:53".parse().unwrap()
            ]
        );
    }

    fn a(name: &str, ttl: u32) -> Record {
        Record::from_rdata(
            Name::from_str(name).unwrap(),
            ttl,
            RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
        )
    }

    fn soa(ttl: u32, minimum: u32) -> Record {
        Record::from_rdata(
            Name::from_str("example.").unwrap(),
            ttl,
            RData::SOA(SOA::new(
                Name::from_str("ns.example.").unwrap(),
                Name::from_str("h.example.").unwrap(),
                1,
                2,
                3,
                4,
                minimum,
            )),
        )
    }

    #[test]
    fn cache_ttls() {
        let ok = |answers, authorities| Resolved {
            rcode: ResponseCode::NoError,
            answers,
            authorities,
            additionals: vec![],
        };
        assert_eq!(
            cache_ttl(&ok(vec![a("a.", 60), a("a.", 30)], vec![])),
            Some(30)
        );
        assert_eq!(cache_ttl(&ok(vec![a("a.", 86400)], vec![])), Some(3600));
        assert_eq!(cache_ttl(&ok(vec![a("a.", 0)], vec![])), None);
        // NODATA and NXDOMAIN: the SOA's TTL, capped by its minimum
        assert_eq!(cache_ttl(&ok(vec![], vec![soa(900, 60)])), Some(60));
        let nx = Resolved {
            rcode: ResponseCode::NXDomain,
            answers: vec![],
            authorities: vec![soa(20, 300)],
            additionals: vec![],
        };
        assert_eq!(cache_ttl(&nx), Some(20));
        assert_eq!(cache_ttl(&ok(vec![], vec![])), Some(DEFAULT_DENIAL_TTL));
        let fail = Resolved {
            rcode: ResponseCode::ServFail,
            ..nx
        };
        assert_eq!(cache_ttl(&fail), None);
    }

    /// A fake upstream on loopback: answers every A query with 192.0.2.1 (TTL 60) and counts
    /// the queries it saw; names starting with `big` get a truncated UDP answer and a full
    /// one over TCP.
    async fn fake_upstream() -> (SocketAddr, Arc<AtomicUsize>) {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
        let seen = Arc::new(AtomicUsize::new(0));
        let answer = |query: &Message, truncated: bool| {
            let mut m = Message::response(query.metadata.id, query.metadata.op_code);
            m.add_queries(query.queries.clone());
            m.metadata.truncation = truncated;
            m.metadata.recursion_available = true;
            if !truncated {
                let q = &query.queries[0];
                m.add_answer(Record::from_rdata(
                    q.name().clone(),
                    60,
                    RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
                ));
            }
            m.to_vec().unwrap()
        };
        let seen2 = seen.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let (n, src) = udp.recv_from(&mut buf).await.unwrap();
                seen2.fetch_add(1, Ordering::SeqCst);
                let q = Message::from_vec(&buf[..n]).unwrap();
                let big = q.queries[0].name().to_ascii().starts_with("big");
                udp.send_to(&answer(&q, big), src).await.unwrap();
            }
        });
        tokio::spawn(async move {
            loop {
                let (mut s, _) = tcp.accept().await.unwrap();
                let len = s.read_u16().await.unwrap() as usize;
                let mut body = vec![0u8; len];
                s.read_exact(&mut body).await.unwrap();
                let q = Message::from_vec(&body).unwrap();
                let bytes = answer(&q, false);
                s.write_all(&(bytes.len() as u16).to_be_bytes())
                    .await
                    .unwrap();
                s.write_all(&bytes).await.unwrap();
            }
        });
        (addr, seen)
    }

    #[tokio::test]
    async fn forwards_caches_and_falls_back_to_tcp() {
        let (upstream, seen) = fake_upstream().await;
        let metrics = Arc::new(Metrics::default());
        let f = Forwarder::new(vec![upstream], Duration::from_secs(2), metrics.clone());
        let name = Name::from_str("www.example.com.").unwrap();
        let r = f
            .resolve(&name, RecordType::A, DNSClass::IN, false)
            .await
            .unwrap();
        assert_eq!(r.rcode, ResponseCode::NoError);
        assert_eq!(r.answers, vec![a("www.example.com.", 60)]);
        // second time from the cache: the upstream saw one query
        let r2 = f
            .resolve(&name, RecordType::A, DNSClass::IN, false)
            .await
            .unwrap();
        assert_eq!(r2.answers.len(), 1);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        assert_eq!(metrics.cache_hits.load(Ordering::Relaxed), 1);
        assert_eq!(metrics.cache_misses.load(Ordering::Relaxed), 1);
        // truncated over UDP: the answer comes over TCP
        let big = Name::from_str("big.example.com.").unwrap();
        let r3 = f
            .resolve(&big, RecordType::A, DNSClass::IN, false)
            .await
            .unwrap();
        assert_eq!(r3.answers, vec![a("big.example.com.", 60)]);
    }

    #[tokio::test]
    async fn unreachable_upstream_times_out() {
        // a bound socket that never answers
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let metrics = Arc::new(Metrics::default());
        let f = Forwarder::new(vec![addr], Duration::from_millis(100), metrics.clone());
        let name = Name::from_str("example.com.").unwrap();
        let e = f
            .resolve(&name, RecordType::A, DNSClass::IN, false)
            .await
            .expect_err("timeout");
        assert!(matches!(e, ForwardError::Timeout(_)), "{e}");
        assert_eq!(metrics.upstream_errors.load(Ordering::Relaxed), 1);
    }
}
