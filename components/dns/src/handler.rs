//! hickory-server's [`RequestHandler`] over the current [`Snapshot`] and the [`Forwarder`].
//!
//! A query never waits on the Kubernetes API: the snapshot is swapped in whole by the watches
//! and read here under a lock held for one `Arc` clone.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, RwLock};

use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{
    Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode,
};
use hickory_server::proto::rr::{Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;

use crate::forward::{Forwarder, Resolved};
use crate::metrics::Metrics;
use crate::records::{Answer, Chase, Resolution, Snapshot};

/// The snapshot queries read; replaced whole on every change.
#[derive(Debug)]
pub struct SnapshotCell(RwLock<Arc<Snapshot>>);

impl SnapshotCell {
    pub fn new(snapshot: Snapshot) -> SnapshotCell {
        SnapshotCell(RwLock::new(Arc::new(snapshot)))
    }

    pub fn load(&self) -> Arc<Snapshot> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn store(&self, snapshot: Snapshot) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
    }
}

/// A response's content, before encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub rcode: ResponseCode,
    pub authoritative: bool,
    pub recursion_available: bool,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
    pub additionals: Vec<Record>,
}

impl Outcome {
    fn error(rcode: ResponseCode) -> Outcome {
        Outcome {
            rcode,
            authoritative: false,
            recursion_available: false,
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
        }
    }

    fn from_answer(a: Answer) -> Outcome {
        Outcome {
            rcode: a.rcode,
            authoritative: a.authoritative,
            recursion_available: false,
            answers: a.answers,
            authorities: a.authority,
            additionals: a.additionals,
        }
    }

    fn forwarded(r: Resolved) -> Outcome {
        Outcome {
            rcode: r.rcode,
            authoritative: false,
            recursion_available: true,
            answers: r.answers,
            authorities: r.authorities,
            additionals: r.additionals,
        }
    }

    /// A cluster answer ending in an outside CNAME, completed with the upstream's records (or
    /// NODATA when the upstream could not be asked).
    fn chased(mut a: Answer, chase: Chase, upstream: Option<Resolved>) -> Outcome {
        match upstream {
            Some(r) => a.answers.extend(r.answers),
            None => {
                a.answers.clear();
                a.authority = vec![chase.soa];
            }
        }
        Outcome::from_answer(a)
    }
}

/// What a request needs: an answer now, or an upstream exchange first.
// Lives for one query and is moved once; boxing would only add an allocation per query.
#[allow(clippy::large_enum_variant)]
pub enum Plan {
    Ready(Outcome),
    Upstream(Pending),
}

#[allow(clippy::large_enum_variant)]
pub enum Pending {
    Forward,
    Chase(Answer, Chase),
}

pub struct DnsHandler {
    snapshot: Arc<SnapshotCell>,
    forwarder: Arc<Forwarder>,
    metrics: Arc<Metrics>,
}

impl DnsHandler {
    pub fn new(
        snapshot: Arc<SnapshotCell>,
        forwarder: Arc<Forwarder>,
        metrics: Arc<Metrics>,
    ) -> DnsHandler {
        DnsHandler {
            snapshot,
            forwarder,
            metrics,
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    fn dnssec_ok(request: &Request) -> bool {
        request.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok)
    }

    /// Decides without waiting: cluster answers and cache hits are ready at once.
    pub fn plan(&self, request: &Request) -> Plan {
        if request.metadata.op_code != OpCode::Query {
            return Plan::Ready(Outcome::error(ResponseCode::NotImp));
        }
        if request.edns.as_ref().is_some_and(|e| e.version() > 0) {
            return Plan::Ready(Outcome::error(ResponseCode::BADVERS));
        }
        let [query] = request.queries.queries() else {
            return Plan::Ready(Outcome::error(ResponseCode::FormErr));
        };
        let original = query.original();
        let qtype = query.query_type();
        if qtype == RecordType::OPT {
            return Plan::Ready(Outcome::error(ResponseCode::FormErr));
        }
        let lower: &hickory_server::proto::rr::Name = query.name();
        match self
            .snapshot
            .load()
            .answer_lowered(original.name(), lower, qtype)
        {
            Resolution::Answer(mut a) => match a.chase.take() {
                None => Plan::Ready(Outcome::from_answer(a)),
                Some(chase) => match self.forwarder.cached(
                    &chase.target,
                    chase.qtype,
                    query.query_class(),
                    Self::dnssec_ok(request),
                ) {
                    Some(hit) => Plan::Ready(Outcome::chased(a, chase, Some(hit))),
                    None => Plan::Upstream(Pending::Chase(a, chase)),
                },
            },
            Resolution::Forward => match self.forwarder.cached(
                original.name(),
                qtype,
                query.query_class(),
                Self::dnssec_ok(request),
            ) {
                Some(hit) => Plan::Ready(Outcome::forwarded(hit)),
                None => Plan::Upstream(Pending::Forward),
            },
        }
    }

    /// Asks the upstream what `plan` could not answer.
    pub async fn complete(&self, request: &Request, pending: Pending) -> Outcome {
        let [query] = request.queries.queries() else {
            return Outcome::error(ResponseCode::FormErr);
        };
        let dnssec_ok = Self::dnssec_ok(request);
        match pending {
            Pending::Forward => match self
                .forwarder
                .resolve(
                    query.original().name(),
                    query.query_type(),
                    query.query_class(),
                    dnssec_ok,
                )
                .await
            {
                Ok(r) => Outcome::forwarded(r),
                Err(e) => {
                    tracing::debug!(error = %e, name = %query.name(), "forward");
                    let mut o = Outcome::error(ResponseCode::ServFail);
                    o.recursion_available = true;
                    o
                }
            },
            Pending::Chase(answer, chase) => {
                let upstream = self
                    .forwarder
                    .resolve(&chase.target, chase.qtype, query.query_class(), dnssec_ok)
                    .await
                    .ok();
                Outcome::chased(answer, chase, upstream)
            }
        }
    }

    /// The response to `request` as UDP bytes (within the client's payload size), without
    /// an async [`ResponseHandler`]: the receive threads answer from the cluster this way.
    pub fn udp_response_bytes(&self, request: &Request, outcome: &Outcome) -> Vec<u8> {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = outcome.authoritative;
        metadata.recursion_available = outcome.recursion_available;
        metadata.response_code = outcome.rcode;
        let edns = response_edns(request);
        self.metrics.response(outcome.rcode);
        let response = MessageResponseBuilder::new(&request.queries, edns.as_ref()).build(
            metadata,
            outcome.answers.iter(),
            outcome.authorities.iter(),
            std::iter::empty(),
            outcome.additionals.iter(),
        );
        let max = edns.as_ref().map_or(512, |e| e.max_payload()).max(512);
        match crate::server::encode(response, max) {
            Ok((_, bytes)) => bytes,
            Err(_) => Vec::new(),
        }
    }

    /// Encodes and sends `outcome` as the response to `request`.
    pub async fn respond<R: ResponseHandler>(
        &self,
        request: &Request,
        outcome: Outcome,
        mut handle: R,
    ) -> ResponseInfo {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = outcome.authoritative;
        metadata.recursion_available = outcome.recursion_available;
        metadata.response_code = outcome.rcode;
        let edns = response_edns(request);
        self.metrics.response(outcome.rcode);
        let response = MessageResponseBuilder::new(&request.queries, edns.as_ref()).build(
            metadata,
            outcome.answers.iter(),
            outcome.authorities.iter(),
            std::iter::empty(),
            outcome.additionals.iter(),
        );
        match handle.send_response(response).await {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(error = %e, "sending a DNS response");
                let mut metadata = Metadata::new(
                    request.metadata.id,
                    MessageType::Response,
                    request.metadata.op_code,
                );
                metadata.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}

#[async_trait::async_trait]
impl RequestHandler for DnsHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let outcome = match self.plan(request) {
            Plan::Ready(o) => o,
            Plan::Upstream(p) => self.complete(request, p).await,
        };
        self.respond(request, outcome, response_handle).await
    }
}

/// EDNS answered with EDNS: the client's payload size (at least 512), version 0.
fn response_edns(request: &Request) -> Option<Edns> {
    request.edns.as_ref().map(|req| {
        let mut e = Edns::new();
        e.set_max_payload(req.max_payload().max(512));
        e.set_version(0);
        e.set_dnssec_ok(req.flags().dnssec_ok);
        e
    })
}

/// Counts a received query by transport.
pub fn count_request(metrics: &Metrics, tcp: bool) {
    if tcp {
        metrics.tcp_requests.fetch_add(1, Relaxed);
    } else {
        metrics.udp_requests.fetch_add(1, Relaxed);
    }
}
