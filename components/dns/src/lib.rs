//! The virtual cluster's DNS: `my-svc.my-ns.svc.cluster.local` and the other Kubernetes DNS
//! names answered from the cluster's own objects (watched, never looked up per query), every
//! other name forwarded to the upstream resolvers with a cache.
//!
//! - [`records`]: the pure view (objects → answers), CoreDNS kubernetes-plugin semantics;
//! - [`handler`]: hickory-server's `RequestHandler` over the current snapshot;
//! - [`forward`]: upstream UDP/TCP exchanges and the TTL-respecting cache;
//! - [`watch`]: kube-rs watches feeding the snapshot; `kube-system/kube-dns` registration;
//! - [`server`]: UDP/TCP listeners (malformed packets counted and dropped);
//! - [`metrics`]: Prometheus counters served at `/metrics`.

pub mod forward;
pub mod handler;
pub mod metrics;
pub mod records;
pub mod server;
pub mod watch;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub use records::PodMode;

use crate::forward::Forwarder;
use crate::handler::{DnsHandler, SnapshotCell};
use crate::metrics::Metrics;
use crate::records::{Snapshot, ZoneConfig};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("binding the DNS listener {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

/// Settings of the DNS server.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// UDP and TCP listen address (port 0: any free port, the same for both).
    pub listen: SocketAddr,
    pub cluster_domain: String,
    /// TTL of cluster records (0..=3600).
    pub ttl: u32,
    /// Upstream resolvers; empty: the nameservers of /etc/resolv.conf.
    pub upstreams: Vec<SocketAddr>,
    pub pods: PodMode,
    /// Where `/metrics` is served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Create `kube-system/kube-dns` and point its Endpoints at this server.
    pub register_service: bool,
    /// Tasks receiving on the UDP socket (0: one per CPU).
    pub udp_workers: usize,
    /// How long an upstream gets to answer.
    pub upstream_timeout: Duration,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            cluster_domain: "cluster.local".into(),
            ttl: 30,
            upstreams: Vec::new(),
            pods: PodMode::Insecure,
            metrics_listen: None,
            register_service: true,
            udp_workers: 0,
            upstream_timeout: Duration::from_secs(2),
        }
    }
}

/// Where the server ended up listening.
#[derive(Debug, Clone)]
pub struct Started {
    /// UDP and TCP, same address.
    pub listen: SocketAddr,
    pub metrics: Option<SocketAddr>,
    pub upstreams: Vec<SocketAddr>,
}

/// A client for the virtual cluster's API from a kubeconfig file.
pub async fn client_from_kubeconfig(path: &Path) -> Result<Client, Error> {
    let err = |message: String| Error::Kubeconfig {
        path: path.display().to_string(),
        message,
    };
    let kc = Kubeconfig::read_from(path).map_err(|e| err(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    Ok(Client::try_from(config)?)
}

/// Kernel buffer for each UDP socket: bursts wait here instead of being dropped (the kernel
/// caps it at net.core.rmem_max).
const UDP_SOCKET_BUFFER: usize = 4 << 20;

/// A UDP socket with SO_REUSEPORT, so each worker has its own and the kernel spreads
/// datagrams over them.
fn udp_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_port(true)?;
    // Best effort: a smaller buffer still works.
    let _ = socket.set_recv_buffer_size(UDP_SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(UDP_SOCKET_BUFFER);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// `workers` UDP sockets and a TCP listener on one port; with port 0, a port free for both.
async fn bind(
    listen: SocketAddr,
    workers: usize,
) -> Result<(Vec<std::net::UdpSocket>, TcpListener), Error> {
    let mut last = None;
    for _ in 0..20 {
        // A plain bind first: it fails when anyone (even a SO_REUSEPORT socket of ours) has
        // the port, where the shared binds below would silently split the traffic.
        let probe = std::net::UdpSocket::bind(listen).map_err(|source| Error::Bind {
            addr: listen,
            source,
        })?;
        let addr = probe.local_addr().map_err(|source| Error::Bind {
            addr: listen,
            source,
        })?;
        drop(probe);
        let mut sockets = Vec::new();
        for _ in 0..workers.max(1) {
            sockets.push(udp_socket(addr).map_err(|source| Error::Bind { addr, source })?);
        }
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((sockets, tcp)),
            Err(source) if listen.port() == 0 => last = Some(source),
            Err(source) => return Err(Error::Bind { addr, source }),
        }
    }
    Err(Error::Bind {
        addr: listen,
        source: last.unwrap_or_else(|| std::io::Error::other("no free port")),
    })
}

async fn serve_metrics(listener: TcpListener, metrics: Arc<Metrics>) {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %e, "dns metrics listener");
    }
}

/// The listeners of a running server; dropping it stops them.
pub struct Listening {
    pub started: Started,
    pub metrics: Arc<Metrics>,
    /// The address kube-dns Endpoints carry: the listener's (loopback when it is unspecified).
    pub advertise: IpAddr,
    pub tasks: JoinSet<()>,
    /// Tells the UDP receive threads to end.
    stop: Arc<AtomicBool>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.tasks.abort_all();
    }
}

/// Starts the UDP/TCP (and metrics) listeners answering from `cell`, without any watch: the
/// caller keeps `cell` current.
pub async fn listen(config: &DnsConfig, cell: Arc<SnapshotCell>) -> Result<Listening, Error> {
    let workers = match config.udp_workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let (udp, tcp) = bind(config.listen, workers).await?;
    let local = udp[0].local_addr().map_err(|source| Error::Bind {
        addr: config.listen,
        source,
    })?;
    let advertise: IpAddr = if local.ip().is_unspecified() {
        Ipv4Addr::LOCALHOST.into()
    } else {
        local.ip()
    };
    let mut upstreams = if config.upstreams.is_empty() {
        forward::system_upstreams(Path::new("/etc/resolv.conf"))
    } else {
        config.upstreams.clone()
    };
    // Never forward to ourselves.
    upstreams.retain(|u| *u != local && *u != SocketAddr::new(advertise, local.port()));

    let metrics = Arc::new(Metrics::default());
    let forwarder = Arc::new(Forwarder::new(
        upstreams.clone(),
        config.upstream_timeout,
        metrics.clone(),
    ));
    let handler = Arc::new(DnsHandler::new(cell, forwarder, metrics.clone()));
    let mut tasks = JoinSet::new();
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Handle::current();
    for (i, socket) in udp.into_iter().enumerate() {
        let (handler, runtime, stop) = (handler.clone(), runtime.clone(), stop.clone());
        std::thread::Builder::new()
            .name(format!("dns-udp-{i}"))
            .spawn(move || {
                if let Err(e) = server::serve_udp_blocking(socket, handler, runtime, stop) {
                    tracing::error!(error = %e, "dns udp listener");
                }
            })
            .map_err(|source| Error::Bind {
                addr: local,
                source,
            })?;
    }
    tasks.spawn(server::serve_tcp(tcp, handler));
    let mut metrics_addr = None;
    if let Some(addr) = config.metrics_listen {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        metrics_addr = listener.local_addr().ok();
        tasks.spawn(serve_metrics(listener, metrics.clone()));
    }
    Ok(Listening {
        started: Started {
            listen: local,
            metrics: metrics_addr,
            upstreams,
        },
        metrics,
        advertise,
        tasks,
        stop,
    })
}

/// The zone settings `config` describes, this server answering at `advertise`.
pub fn zone_config(config: &DnsConfig, advertise: SocketAddr) -> Result<ZoneConfig, Error> {
    let mut zone = ZoneConfig::new(&config.cluster_domain, config.ttl).map_err(Error::Config)?;
    zone.pods = config.pods;
    zone.local_ips = vec![advertise.ip()];
    zone.local_port = Some(advertise.port());
    Ok(zone)
}

/// Serves DNS for the cluster behind `client` until `shutdown` completes.
/// `on_started` learns the bound addresses once the listeners are up.
pub async fn serve(
    config: DnsConfig,
    client: Client,
    shutdown: impl Future<Output = ()>,
    on_started: impl FnOnce(&Started),
) -> Result<(), Error> {
    // Validate the domain before binding anything.
    let unbound = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let cell = Arc::new(SnapshotCell::new(Snapshot::empty(&zone_config(
        &config, unbound,
    )?)));
    let mut listening = listen(&config, cell.clone()).await?;
    let zone = zone_config(
        &config,
        SocketAddr::new(listening.advertise, listening.started.listen.port()),
    )?;
    listening
        .tasks
        .spawn(watch::run(client.clone(), zone, cell));
    if config.register_service {
        listening.tasks.spawn(watch::register_kube_dns(
            client,
            listening.advertise,
            listening.started.listen.port(),
        ));
    }
    on_started(&listening.started);
    shutdown.await;
    drop(listening);
    Ok(())
}

#[cfg(test)]
mod tests;
