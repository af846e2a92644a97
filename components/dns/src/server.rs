//! UDP and TCP listeners feeding the [`DnsHandler`].
//!
//! Our own loops rather than hickory's `Server`: a packet that does not parse as a query is
//! counted and dropped (hickory answers FORMERR and counts nothing); UDP is received by one
//! thread per SO_REUSEPORT socket with blocking calls, cluster answers are sent from that
//! thread without a task per packet, and only questions that need an upstream go to the async
//! runtime.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use hickory_server::net::NetError;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{
    Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode,
};
use hickory_server::proto::rr::Record;
use hickory_server::proto::serialize::binary::{BinEncodable, BinEncoder};
use hickory_server::server::{Request, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::handler::{DnsHandler, Plan, count_request};

/// A TCP connection idle this long is closed.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// Largest UDP query we read (EDNS clients send far less).
const UDP_BUFFER: usize = 4096;

/// Encodes a response within `max_size` bytes (the encoder drops what does not fit and sets
/// TC); an encoding failure becomes a bare SERVFAIL header.
pub(crate) fn encode<'a>(
    response: MessageResponse<
        '_,
        'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
    >,
    max_size: u16,
) -> Result<(ResponseInfo, Vec<u8>), NetError> {
    let id = response.metadata().id;
    let op_code = response.metadata().op_code;
    let mut bytes = Vec::with_capacity(512);
    let mut encoder = BinEncoder::new(&mut bytes);
    encoder.set_max_size(max_size);
    if let Ok(info) = response.destructive_emit(&mut encoder) {
        return Ok((info, bytes));
    }
    bytes.clear();
    let mut metadata = Metadata::new(id, MessageType::Response, op_code);
    metadata.response_code = ResponseCode::ServFail;
    let header = Header {
        metadata,
        counts: HeaderCounts::default(),
    };
    let mut encoder = BinEncoder::new(&mut bytes);
    header
        .emit(&mut encoder)
        .map_err(|e| NetError::from(e.to_string()))?;
    Ok((ResponseInfo::from(header), bytes))
}

/// Sends a length-prefixed response on a TCP connection.
#[derive(Clone)]
pub struct TcpResponder {
    writer: Arc<Mutex<OwnedWriteHalf>>,
}

#[async_trait::async_trait]
impl ResponseHandler for TcpResponder {
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
        let (info, bytes) = encode(response, u16::MAX)?;
        let mut framed = Vec::with_capacity(bytes.len() + 2);
        framed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        framed.extend_from_slice(&bytes);
        self.writer.lock().await.write_all(&framed).await?;
        Ok(info)
    }
}

/// A query from the wire; None (counted) when the bytes are not one.
fn parse_query(
    handler: &DnsHandler,
    bytes: Vec<u8>,
    src: SocketAddr,
    tcp: bool,
) -> Option<Request> {
    let protocol = if tcp { Protocol::Tcp } else { Protocol::Udp };
    match Request::from_bytes(bytes, src, protocol) {
        // Responses are never answered (reflection).
        Ok(r) if r.metadata.message_type == MessageType::Query => {
            count_request(handler.metrics(), tcp);
            Some(r)
        }
        _ => {
            handler.metrics().malformed.fetch_add(1, Relaxed);
            None
        }
    }
}

/// How often a blocked receive thread looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

/// Receives on `socket` in a thread of its own, with blocking calls (no readiness polling per
/// packet), until `stop` is set. Cluster answers are sent from this thread; questions that need
/// an upstream go to the async runtime and answer from there.
pub fn serve_udp_blocking(
    socket: std::net::UdpSocket,
    handler: Arc<DnsHandler>,
    runtime: tokio::runtime::Handle,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<()> {
    socket.set_nonblocking(false)?;
    socket.set_read_timeout(Some(STOP_POLL))?;
    let sender = Arc::new(socket.try_clone()?);
    let mut buf = vec![0u8; UDP_BUFFER];
    while !stop.load(Relaxed) {
        let (len, src) = match socket.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "dns udp receive");
                continue;
            }
        };
        if src.port() == 0 {
            continue;
        }
        let Some(request) = parse_query(&handler, buf[..len].to_vec(), src, false) else {
            continue;
        };
        match handler.plan(&request) {
            Plan::Ready(outcome) => {
                let bytes = handler.udp_response_bytes(&request, &outcome);
                if let Err(e) = socket.send_to(&bytes, src) {
                    tracing::debug!(error = %e, "dns udp send");
                }
            }
            Plan::Upstream(pending) => {
                let handler = handler.clone();
                let sender = sender.clone();
                runtime.spawn(async move {
                    let outcome = handler.complete(&request, pending).await;
                    let bytes = handler.udp_response_bytes(&request, &outcome);
                    // A datagram send does not wait (the socket buffer is large).
                    let _ = sender.send_to(&bytes, src);
                });
            }
        }
    }
    Ok(())
}

/// Accepts TCP connections until the task is aborted.
pub async fn serve_tcp(listener: TcpListener, handler: Arc<DnsHandler>) {
    loop {
        match listener.accept().await {
            Ok((stream, src)) => {
                tokio::spawn(serve_tcp_connection(stream, src, handler.clone()));
            }
            Err(e) => {
                tracing::debug!(error = %e, "dns tcp accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_tcp_connection(stream: TcpStream, src: SocketAddr, handler: Arc<DnsHandler>) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let responder = TcpResponder {
        writer: Arc::new(Mutex::new(writer)),
    };
    loop {
        let len = match tokio::time::timeout(TCP_IDLE, reader.read_u16()).await {
            Ok(Ok(len)) => len as usize,
            _ => return,
        };
        let mut body = vec![0u8; len];
        match tokio::time::timeout(TCP_IDLE, reader.read_exact(&mut body)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        // A malformed message ends the connection: the stream cannot be trusted after it.
        let Some(request) = parse_query(&handler, body, src, true) else {
            return;
        };
        let outcome = match handler.plan(&request) {
            Plan::Ready(o) => o,
            Plan::Upstream(p) => handler.complete(&request, p).await,
        };
        handler.respond(&request, outcome, responder.clone()).await;
        if request.metadata.op_code != OpCode::Query {
            return;
        }
    }
}
