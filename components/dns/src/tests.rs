//! The server on loopback with a fixed snapshot (no API): transports, truncation, EDNS,
//! forwarding with a fake upstream, and random packets.

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_server::net::NetError;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_server::proto::rr::rdata::A;
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::*;
use crate::forward::Forwarder;
use crate::handler::{DnsHandler, Plan, SnapshotCell};
use crate::records::{ClusterState, Resolution, Snapshot};

/// testns/svc1 (10.0.0.1), testns/big (headless, 100 endpoints), testns/external → an outside
/// name.
fn state() -> ClusterState {
    let mut s = ClusterState::default();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "testns"}})).unwrap();
    s.apply_namespace(&ns);
    let svc = |name: &str, spec: serde_json::Value| -> Service {
        serde_json::from_value(
            json!({"metadata": {"namespace": "testns", "name": name}, "spec": spec}),
        )
        .unwrap()
    };
    s.apply_service(&svc(
        "svc1",
        json!({"clusterIP": "10.0.0.1", "ports": [{"name": "http", "port": 80}]}),
    ));
    s.apply_service(&svc("big", json!({"clusterIP": "None"})));
    s.apply_service(&svc(
        "external",
        json!({"type": "ExternalName", "externalName": "www.example.com"}),
    ));
    let endpoints: Vec<_> = (0..100)
        .map(|i| json!({"addresses": [format!("10.1.{}.{}", i / 250, i % 250 + 1)]}))
        .collect();
    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"namespace": "testns", "name": "big-1", "labels": {"kubernetes.io/service-name": "big"}},
        "addressType": "IPv4",
        "endpoints": endpoints,
    }))
    .unwrap();
    s.apply_slice(&slice);
    s
}

/// A fake upstream: every A question answered 192.0.2.1 (TTL 60); counts questions.
async fn fake_upstream() -> (SocketAddr, Arc<AtomicUsize>) {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, src)) = udp.recv_from(&mut buf).await else {
                return;
            };
            seen2.fetch_add(1, Ordering::SeqCst);
            let q = Message::from_vec(&buf[..n]).unwrap();
            let mut m = Message::response(q.metadata.id, q.metadata.op_code);
            m.metadata.recursion_available = true;
            m.add_queries(q.queries.clone());
            if q.queries[0].query_type() == RecordType::A {
                m.add_answer(Record::from_rdata(
                    q.queries[0].name().clone(),
                    60,
                    RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
                ));
            }
            let _ = udp.send_to(&m.to_vec().unwrap(), src).await;
        }
    });
    (addr, seen)
}

async fn start(upstreams: Vec<SocketAddr>) -> (Listening, Arc<SnapshotCell>) {
    let config = DnsConfig {
        upstreams,
        udp_workers: 2,
        upstream_timeout: Duration::from_millis(500),
        ..DnsConfig::default()
    };
    let zone = zone_config(&config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let cell = Arc::new(SnapshotCell::new(Snapshot::build(&state(), &zone, true)));
    let listening = listen(&config, cell.clone()).await.unwrap();
    (listening, cell)
}

fn query(name: &str, qtype: RecordType, edns: Option<(u16, u8)>) -> Message {
    let mut m = Message::query();
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    if let Some((payload, version)) = edns {
        let mut e = Edns::new();
        e.set_max_payload(payload);
        e.set_version(version);
        m.set_edns(e);
    }
    m
}

async fn udp_exchange(server: SocketAddr, q: &Message) -> Message {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(&q.to_vec().unwrap(), server).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = tokio::time::timeout(Duration::from_secs(2), sock.recv_from(&mut buf))
        .await
        .expect("answer in time")
        .unwrap();
    let m = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(m.metadata.id, q.metadata.id);
    m
}

async fn tcp_exchange(server: SocketAddr, q: &Message) -> Message {
    let mut s = TcpStream::connect(server).await.unwrap();
    let bytes = q.to_vec().unwrap();
    s.write_all(&(bytes.len() as u16).to_be_bytes())
        .await
        .unwrap();
    s.write_all(&bytes).await.unwrap();
    let len = s.read_u16().await.unwrap() as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.unwrap();
    Message::from_vec(&body).unwrap()
}

#[tokio::test]
async fn udp_tcp_truncation_and_edns() {
    let (l, _cell) = start(vec![]).await;
    let at = l.started.listen;
    // a plain answer: authoritative, no recursion available, RD echoed
    let m = udp_exchange(
        at,
        &query("svc1.testns.svc.cluster.local.", RecordType::A, None),
    )
    .await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative && m.metadata.recursion_desired);
    assert!(!m.metadata.recursion_available);
    assert_eq!(m.answers.len(), 1);
    assert!(m.edns.is_none());
    // 100 addresses do not fit 512 bytes: truncated over UDP, whole over TCP
    let q = query("big.testns.svc.cluster.local.", RecordType::A, None);
    let m = udp_exchange(at, &q).await;
    assert!(m.metadata.truncation);
    assert!(m.answers.len() < 100);
    let m = tcp_exchange(at, &q).await;
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 100);
    // with EDNS (4096) they fit, and the answer carries an OPT record
    let m = udp_exchange(
        at,
        &query(
            "big.testns.svc.cluster.local.",
            RecordType::A,
            Some((4096, 0)),
        ),
    )
    .await;
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 100);
    assert_eq!(m.edns.as_ref().map(|e| e.max_payload()), Some(4096));
    // an EDNS version we do not speak: BADVERS
    let m = udp_exchange(
        at,
        &query(
            "svc1.testns.svc.cluster.local.",
            RecordType::A,
            Some((1232, 1)),
        ),
    )
    .await;
    // (BADVERS shares code 16 with BADSIG, which the decoder names)
    assert_eq!(
        u16::from(m.metadata.response_code),
        u16::from(ResponseCode::BADVERS)
    );
    // NXDOMAIN with the SOA
    let m = udp_exchange(
        at,
        &query("nope.testns.svc.cluster.local.", RecordType::A, None),
    )
    .await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    // not a query opcode: NOTIMP
    let mut notify = query("svc1.testns.svc.cluster.local.", RecordType::SOA, None);
    notify.metadata.op_code = OpCode::Notify;
    let m = udp_exchange(at, &notify).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NotImp);
    assert_eq!(l.metrics.udp_requests.load(Ordering::Relaxed), 6);
    assert_eq!(l.metrics.tcp_requests.load(Ordering::Relaxed), 1);
    assert_eq!(l.metrics.responses(ResponseCode::NXDomain), 1);
}

#[tokio::test]
async fn forwards_with_cache_and_chases_external_names() {
    let (upstream, seen) = fake_upstream().await;
    let (l, _cell) = start(vec![upstream]).await;
    let at = l.started.listen;
    for _ in 0..3 {
        let m = udp_exchange(at, &query("www.example.org.", RecordType::A, None)).await;
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.metadata.recursion_available && !m.metadata.authoritative);
        assert_eq!(m.answers.len(), 1);
    }
    assert_eq!(seen.load(Ordering::SeqCst), 1, "cached after the first");
    assert_eq!(l.metrics.cache_hits.load(Ordering::Relaxed), 2);
    // an ExternalName: the CNAME, then the upstream's address for the target
    let m = udp_exchange(
        at,
        &query("external.testns.svc.cluster.local.", RecordType::A, None),
    )
    .await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    let types: Vec<RecordType> = m.answers.iter().map(|r| r.record_type()).collect();
    assert_eq!(types, [RecordType::CNAME, RecordType::A]);
    let text = l.metrics.render();
    assert!(
        text.contains("warren_dns_upstream_request_duration_seconds_count 2"),
        "{text}"
    );
}

#[tokio::test]
async fn upstream_failure_is_servfail_and_a_failed_chase_is_nodata() {
    // nothing listens on this port: every exchange fails
    let dead = UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let (l, _cell) = start(vec![dead]).await;
    let at = l.started.listen;
    let m = udp_exchange(at, &query("www.example.org.", RecordType::A, None)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    let m = udp_exchange(
        at,
        &query("external.testns.svc.cluster.local.", RecordType::A, None),
    )
    .await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
}

#[tokio::test]
async fn snapshot_swaps_show_at_once() {
    let (l, cell) = start(vec![]).await;
    let at = l.started.listen;
    let q = query("svc9.testns.svc.cluster.local.", RecordType::A, None);
    assert_eq!(
        udp_exchange(at, &q).await.metadata.response_code,
        ResponseCode::NXDomain
    );
    let mut s = state();
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"namespace": "testns", "name": "svc9"}, "spec": {"clusterIP": "10.0.0.9"}}))
    .unwrap();
    s.apply_service(&svc);
    let zone = zone_config(
        &DnsConfig::default(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .unwrap();
    cell.store(Snapshot::build(&s, &zone, true));
    let m = udp_exchange(at, &q).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 1);
}

/// Collects encoded responses instead of sending them.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Vec<u8>>>>);

#[async_trait::async_trait]
impl ResponseHandler for Collect {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let (info, bytes) = server::encode(response, 512)?;
        self.0.lock().unwrap().push(bytes);
        Ok(info)
    }
}

/// Valid queries to mutate: every kind of name and type.
fn seeds() -> Vec<Vec<u8>> {
    let names = [
        "svc1.testns.svc.cluster.local.",
        "big.testns.svc.cluster.local.",
        "_http._tcp.svc1.testns.svc.cluster.local.",
        "1-2-3-4.testns.pod.cluster.local.",
        "1.0.0.10.in-addr.arpa.",
        "cluster.local.",
        "external.testns.svc.cluster.local.",
        "www.example.org.",
    ];
    let types = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::SRV,
        RecordType::PTR,
        RecordType::TXT,
        RecordType::NS,
        RecordType::SOA,
        RecordType::ANY,
        RecordType::AXFR,
    ];
    let mut out = Vec::new();
    for n in names {
        for t in types {
            out.push(query(n, t, Some((1232, 0))).to_vec().unwrap());
            out.push(query(n, t, None).to_vec().unwrap());
        }
    }
    out
}

/// Random bytes and mutated queries through the handler: no panic, and a response for
/// every packet that parses.
#[tokio::test]
async fn fuzz_handler_with_random_packets() {
    let zone = zone_config(
        &DnsConfig::default(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .unwrap();
    let cell = Arc::new(SnapshotCell::new(Snapshot::build(&state(), &zone, true)));
    let metrics = Arc::new(metrics::Metrics::default());
    // no upstream: forwarded questions fail at once (SERVFAIL)
    let forwarder = Arc::new(Forwarder::new(
        vec![],
        Duration::from_millis(10),
        metrics.clone(),
    ));
    let handler = DnsHandler::new(cell, forwarder, metrics);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let seeds = seeds();
    let src: SocketAddr = "127.0.0.1:5353".parse().unwrap();
    let collect = Collect::default();
    let (mut parsed, mut total) = (0, 0);
    for i in 0..20_000 {
        let packet: Vec<u8> = if i % 2 == 0 {
            let len = rng.random_range(0..600);
            (0..len).map(|_| rng.random()).collect()
        } else {
            let mut p = seeds[rng.random_range(0..seeds.len())].clone();
            for _ in 0..rng.random_range(1..8) {
                match rng.random_range(0..3) {
                    0 if !p.is_empty() => {
                        let at = rng.random_range(0..p.len());
                        p[at] = rng.random();
                    }
                    1 if !p.is_empty() => {
                        let at = rng.random_range(0..p.len());
                        p.truncate(at);
                    }
                    _ => {
                        let at = rng.random_range(0..=p.len());
                        p.insert(at, rng.random());
                    }
                }
            }
            p
        };
        total += 1;
        let Ok(request) = Request::from_bytes(packet, src, Protocol::Udp) else {
            continue;
        };
        if request.metadata.message_type != MessageType::Query {
            continue;
        }
        parsed += 1;
        let outcome = match handler.plan(&request) {
            Plan::Ready(o) => o,
            Plan::Upstream(p) => handler.complete(&request, p).await,
        };
        handler.respond(&request, outcome, collect.clone()).await;
    }
    let responses = collect.0.lock().unwrap();
    assert_eq!(responses.len(), parsed, "one response per parsed query");
    assert!(
        parsed > 300,
        "mutations kept many queries valid: {parsed}/{total}"
    );
    for r in responses.iter() {
        assert!(r.len() <= 512, "UDP limit respected");
        Message::from_vec(r).expect("every response decodes");
    }
}

/// Garbage on the live socket is counted and dropped; the server keeps answering.
#[tokio::test]
async fn malformed_datagrams_are_dropped_and_counted() {
    let (l, _cell) = start(vec![]).await;
    let at = l.started.listen;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut sent_garbage = 0;
    for _ in 0..2000 {
        let len = rng.random_range(0..11);
        let p: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        sock.send_to(&p, at).await.unwrap();
        sent_garbage += 1;
    }
    // a response (QR set) is never answered either
    let mut resp = query("svc1.testns.svc.cluster.local.", RecordType::A, None);
    resp.metadata.message_type = MessageType::Response;
    sock.send_to(&resp.to_vec().unwrap(), at).await.unwrap();
    let m = udp_exchange(
        at,
        &query("svc1.testns.svc.cluster.local.", RecordType::A, None),
    )
    .await;
    assert_eq!(m.answers.len(), 1);
    // datagrams under 12 bytes cannot be a header: all of them are counted
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while l.metrics.malformed.load(Ordering::Relaxed) < sent_garbage + 1
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        l.metrics.malformed.load(Ordering::Relaxed),
        sent_garbage + 1
    );
    // a malformed TCP message closes that connection only
    let mut s = TcpStream::connect(at).await.unwrap();
    s.write_all(&[0, 3, 1, 2, 3]).await.unwrap();
    let mut buf = [0u8; 2];
    assert!(s.read_exact(&mut buf).await.is_err(), "connection closed");
    let m = tcp_exchange(
        at,
        &query("svc1.testns.svc.cluster.local.", RecordType::A, None),
    )
    .await;
    assert_eq!(m.answers.len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Any name under the zone gets an authoritative answer (never forwarded, never a panic);
    /// names elsewhere are forwarded unless they are cluster reverse names.
    #[test]
    fn any_name_is_answered_or_forwarded(labels in proptest::collection::vec("[a-z0-9_-]{1,12}", 0..7), qtype in 0u16..300) {
        let zone = zone_config(&DnsConfig::default(), SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
        let snapshot = Snapshot::build(&state(), &zone, true);
        let qtype = RecordType::from(qtype);
        let inside = Name::from_ascii(format!("{}cluster.local.", labels.iter().map(|l| format!("{l}.")).collect::<String>()));
        if let Ok(name) = inside {
            let answered = matches!(snapshot.answer(&name, qtype), Resolution::Answer(_));
            prop_assert!(answered);
        }
        let outside = Name::from_str(&format!("{}example.", labels.iter().map(|l| format!("{l}.")).collect::<String>()));
        if let Ok(name) = outside {
            prop_assert_eq!(snapshot.answer(&name, qtype), Resolution::Forward);
        }
    }
}

/// Per-query cost of the handler without sockets (parse, answer, encode):
/// `cargo test --release -p warren-dns per_query_cost -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn per_query_cost() {
    let mut s = state();
    for j in 0..10 {
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": format!("ns-{j}")}})).unwrap();
        s.apply_namespace(&ns);
        for i in 0..1000 {
            let svc: Service = serde_json::from_value(json!({
                "metadata": {"namespace": format!("ns-{j}"), "name": format!("svc-{i}")},
                "spec": {"clusterIP": format!("10.96.{}.{}", (j * 1000 + i) / 250, (j * 1000 + i) % 250 + 1),
                         "ports": [{"name": "http", "port": 80}]}}))
            .unwrap();
            s.apply_service(&svc);
        }
    }
    let zone = zone_config(
        &DnsConfig::default(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let snapshot = Snapshot::build(&s, &zone, true);
    eprintln!(
        "snapshot of 10,000 services built in {:?}",
        started.elapsed()
    );
    let cell = Arc::new(SnapshotCell::new(snapshot));
    let metrics = Arc::new(metrics::Metrics::default());
    let forwarder = Arc::new(Forwarder::new(
        vec![],
        Duration::from_millis(10),
        metrics.clone(),
    ));
    let handler = DnsHandler::new(cell, forwarder, metrics);
    let packets: Vec<Vec<u8>> = (0..1000)
        .map(|i| {
            query(
                &format!("svc-{i}.ns-{}.svc.cluster.local.", i % 10),
                RecordType::A,
                Some((1232, 0)),
            )
            .to_vec()
            .unwrap()
        })
        .collect();
    let collect = Collect::default();
    let src: SocketAddr = "127.0.0.1:5353".parse().unwrap();
    let n = 200_000;
    let started = std::time::Instant::now();
    for i in 0..n {
        let request =
            Request::from_bytes(packets[i % packets.len()].clone(), src, Protocol::Udp).unwrap();
        let Plan::Ready(outcome) = handler.plan(&request) else {
            panic!("forwarded")
        };
        handler.respond(&request, outcome, collect.clone()).await;
        if i % 1000 == 0 {
            collect.0.lock().unwrap().clear();
        }
    }
    let per = started.elapsed() / n as u32;
    eprintln!(
        "per query: {per:?} ({:.0} q/s per core without sockets)",
        1.0 / per.as_secs_f64()
    );
}
